"""Export requests from URL parameters, and link tokens, without a server."""

from __future__ import annotations

import uuid
from datetime import date

import jwt
import pytest

from analytics_graph.api.types.ranges import Days
from analytics_graph.auth import InvalidTokenError, Role, issue_token, verify_token
from analytics_graph.export.links import AUDIENCE, issue_link_token, link_url, verify_link_token
from analytics_graph.export.request import BadParameter, Format, Kind, Section, parse

SECRET = "unit-test-secret-of-at-least-32-bytes!"
TODAY = date(2026, 12, 6)
ID = uuid.UUID("5f0e7a52-7d51-4a52-9c51-3d2b7a1e0c11")


def test_defaults_an_account_csv_is_28_days_of_its_overview() -> None:
    request = parse(Kind.ACCOUNT, ID, Format.CSV, [], TODAY)
    assert request.days == Days(date(2026, 11, 9), TODAY)
    assert request.section is Section.OVERVIEW
    assert request.query() == {"start": "2026-11-09", "end": "2026-12-06", "section": "overview"}
    workbook = parse(Kind.ACCOUNT, ID, Format.XLSX, [("range", "LAST_7_DAYS")], TODAY)
    assert workbook.days == Days(date(2026, 11, 30), TODAY)
    assert workbook.section is None
    video = parse(Kind.VIDEO, ID, Format.CSV, [], TODAY)
    assert video.days is None  # the whole life
    assert video.query() == {}


def test_a_custom_range_follows_the_rules_of_date_range_input() -> None:
    longest = [("start", "2024-12-06"), ("end", "2026-12-06")]  # 731 days
    assert parse(Kind.ACCOUNT, ID, Format.XLSX, longest, TODAY).days == Days(
        date(2024, 12, 6), TODAY
    )
    with pytest.raises(BadParameter) as refused:
        parse(
            Kind.ACCOUNT, ID, Format.XLSX, [("start", "2024-12-05"), ("end", "2026-12-06")], TODAY
        )
    assert (refused.value.parameter, refused.value.reason) == (
        "end",
        "a range spans at most 731 days, not 732",
    )


def test_a_link_token_names_one_export_and_is_no_bearer_token() -> None:
    request = parse(Kind.ACCOUNT, ID, Format.CSV, [("section", "followers")], TODAY)
    token = issue_link_token(SECRET, request)
    assert verify_link_token(SECRET, token) == request
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
    assert "role" not in claims
    assert claims["exp"] - claims["iat"] == 300
    with pytest.raises(InvalidTokenError):
        verify_token(SECRET, token)
    with pytest.raises(InvalidTokenError, match="not a valid export link"):
        verify_link_token(SECRET, issue_token(SECRET, Role.ADMIN))


def test_a_link_url_holds_the_days_the_section_and_the_token() -> None:
    request = parse(Kind.ACCOUNT, ID, Format.CSV, [("range", "LAST_7_DAYS")], TODAY)
    url = link_url("http://example.test/root/", SECRET, request)
    assert url.startswith(
        f"http://example.test/root/export/accounts/{ID}.csv?"
        "start=2026-11-30&end=2026-12-06&section=overview&token="
    )
