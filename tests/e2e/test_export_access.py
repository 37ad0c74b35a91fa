"""Who may export what, download links, and bad parameters, through the real app.

An id the caller may not see answers exactly like an id that does not exist;
a link token allows its one export and nothing else, and is no bearer token.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest

from analytics_graph.api.types.ranges import Days
from analytics_graph.auth import Role
from analytics_graph.export.links import issue_link_token
from analytics_graph.export.request import ExportRequest, Format, Kind, Section
from analytics_graph.simulation import SimulationConfig
from tests.e2e.export_support import download
from tests.e2e.graphql_support import SECRET, Served, serve, token

CONFIG = SimulationConfig(seed=5, accounts=5, pro_ratio=0.7, events=3_000, users=500, weeks=3)
NOWHERE = "00000000-0000-4000-8000-000000000000"
DAYS = "start=2025-05-11&end=2025-05-31"
CUSTOM = {"custom": {"start": "2025-05-11", "end": "2025-05-31"}}
ADMIN = token(Role.ADMIN)
ACCOUNT_LINK = """query L($id: ID!, $format: ExportFormat!, $range: DateRangeInput,
  $section: ExportSection) { account(id: $id) {
  exportLink(format: $format, range: $range, section: $section) } }"""
VIDEO_LINK = """query L($id: ID!, $format: ExportFormat!, $range: DateRangeInput) {
  video(id: $id) { exportLink(format: $format, range: $range) } }"""


@pytest.fixture(scope="module")
async def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("export-access"), CONFIG) as served:
        yield served


def _pro_creators(world: Served) -> list[str]:
    assert world.world is not None
    return [str(a.id) for a in world.world.accounts if a.is_pro]


def _personal(world: Served) -> str:
    assert world.world is not None
    return next(str(a.id) for a in world.world.accounts if not a.is_pro)


def _video_of(world: Served, account_id: str) -> str:
    assert world.world is not None
    return next(str(v.id) for v in world.world.videos if str(v.account_id) == account_id)


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    assert isinstance(error, dict)
    return error


def _same_answer(hidden: httpx.Response, hidden_id: str, missing: httpx.Response) -> None:
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(hidden_id, NOWHERE) == missing.text
    assert hidden.headers["content-type"] == missing.headers["content-type"]
    assert _error(hidden)["extensions"] == {"code": "NOT_FOUND"}


# ---------------------------------------------------------------- bearer tokens


@pytest.mark.parametrize("format", ["csv", "xlsx"])
async def test_a_creator_exports_their_own_account_and_videos(world: Served, format: str) -> None:
    mine = _pro_creators(world)[0]
    creator = token(Role.CREATOR, mine)
    for path in (
        f"/export/accounts/{mine}.{format}?{DAYS}",
        f"/export/videos/{_video_of(world, mine)}.{format}",
    ):
        response = await download(world, path, creator)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-disposition"].startswith('attachment; filename="')


@pytest.mark.parametrize("kind", ["accounts", "videos"])
async def test_another_creators_ids_answer_like_ids_that_do_not_exist(
    world: Served, kind: str
) -> None:
    mine, theirs = _pro_creators(world)[:2]
    creator = token(Role.CREATOR, mine)
    hidden_id = theirs if kind == "accounts" else _video_of(world, theirs)
    for format in ("csv", "xlsx"):
        hidden = await download(world, f"/export/{kind}/{hidden_id}.{format}", creator)
        missing = await download(world, f"/export/{kind}/{NOWHERE}.{format}", creator)
        _same_answer(hidden, hidden_id, missing)
    malformed = await download(world, f"/export/{kind}/not-an-id.csv", creator)
    assert malformed.status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
async def test_auditors_and_admins_export_any_account(world: Served, role: Role) -> None:
    for account_id in _pro_creators(world):
        response = await download(world, f"/export/accounts/{account_id}.csv", token(role))
        assert response.status_code == 200, response.text


async def test_who_reads_nothing_exports_nothing(world: Served) -> None:
    mine = _pro_creators(world)[0]
    path = f"/export/accounts/{mine}.csv"
    forbidden = await download(world, path, token(Role.INGEST))
    assert forbidden.status_code == 403
    assert _error(forbidden)["extensions"]["code"] == "FORBIDDEN"
    anonymous = await download(world, path)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in _error(anonymous)["message"]
    forged = await download(world, path, token(Role.ADMIN)[:-4] + "AAAA")
    assert forged.status_code == 401
    assert _error(forged)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_personal_account_has_no_export(world: Served) -> None:
    personal = _personal(world)
    for who in (ADMIN, token(Role.CREATOR, personal)):
        response = await download(world, f"/export/accounts/{personal}.xlsx", who)
        assert response.status_code == 403
        error = _error(response)
        assert error["extensions"] == {"code": "NOT_PRO_ACCOUNT", "accountId": personal}
        assert "Pro accounts only" in error["message"]


@pytest.mark.parametrize(
    ("query", "parameter", "reason"),
    [
        ("start=2025-05-10&end=2025-05-01", "end", "must be on or before end"),
        ("start=2020-01-01&end=2025-01-01", "end", "at most 731 days, not 1828"),
        ("start=2025-5-1&end=2025-05-31", "start", "'2025-5-1' is not a date"),
        ("start=2025-05-01", "end", "give start and end together"),
        ("end=2025-05-01", "start", "give start and end together"),
        ("range=LAST_8_DAYS", "range", "'LAST_8_DAYS' is not one of LAST_7_DAYS"),
        ("range=LAST_7_DAYS&start=2025-05-01&end=2025-05-02", "range", "not both"),
        ("section=videos", "section", "'videos' is not one of overview, content, followers"),
        ("sectoin=content", "sectoin", "unknown parameter"),
        ("start=2025-05-01&start=2025-05-02&end=2025-05-03", "start", "more than once"),
    ],
)
async def test_bad_parameters_are_named_with_the_reason(
    world: Served, query: str, parameter: str, reason: str
) -> None:
    mine = _pro_creators(world)[0]
    response = await download(world, f"/export/accounts/{mine}.csv?{query}", ADMIN)
    assert response.status_code == 400
    error = _error(response)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "parameter": parameter}
    assert error["message"].startswith(f"{parameter}: ")
    assert reason in error["message"]


async def test_sections_belong_to_account_csv_files_only(world: Served) -> None:
    mine = _pro_creators(world)[0]
    for path in (
        f"/export/accounts/{mine}.xlsx?section=content",
        f"/export/videos/{_video_of(world, mine)}.csv?section=content",
    ):
        response = await download(world, path, ADMIN)
        assert response.status_code == 400
        assert _error(response)["extensions"]["parameter"] == "section"
    unknown = await download(world, f"/export/accounts/{mine}.pdf", ADMIN)
    assert unknown.status_code == 404
    assert "ask for .csv or .xlsx" in _error(unknown)["message"]


# ---------------------------------------------------------------- link tokens


async def _link(world: Served, who: str, query: str, **variables: Any) -> str:
    data = await world.data(query, variables, token=who)
    link: str = next(iter(data.values()))["exportLink"]
    return link


def _relative(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def test_a_link_downloads_the_same_file_without_a_bearer_header(world: Served) -> None:
    mine = _pro_creators(world)[0]
    creator = token(Role.CREATOR, mine)
    link = await _link(
        world, creator, ACCOUNT_LINK, id=mine, format="CSV", range=CUSTOM, section="CONTENT"
    )
    assert link.startswith(f"{world.base_url}/export/accounts/{mine}.csv?")
    assert set(parse_qs(urlsplit(link).query)) == {"start", "end", "section", "token"}
    by_link = await world.http.get(link)
    assert by_link.status_code == 200, by_link.text
    by_bearer = await download(
        world, f"/export/accounts/{mine}.csv?{DAYS}&section=content", creator
    )
    assert by_link.content == by_bearer.content
    assert by_link.headers["content-disposition"] == by_bearer.headers["content-disposition"]

    video = _video_of(world, mine)
    video_link = await _link(world, creator, VIDEO_LINK, id=video, format="XLSX")
    assert video_link.startswith(f"{world.base_url}/export/videos/{video}.xlsx?token=")
    by_link = await world.http.get(video_link)
    assert by_link.status_code == 200, by_link.text
    assert by_link.content[:2] == b"PK"  # a zip: the workbook


async def test_a_link_allows_its_one_export_only(world: Served) -> None:
    mine, theirs = _pro_creators(world)[:2]
    link = _relative(
        await _link(
            world,
            token(Role.CREATOR, mine),
            ACCOUNT_LINK,
            id=mine,
            format="CSV",
            range=CUSTOM,
            section="OVERVIEW",
        )
    )
    assert (await world.http.get(link)).status_code == 200
    others = {
        "section": link.replace("section=overview", "section=followers"),
        "range": link.replace("start=2025-05-11", "start=2025-05-12"),
        "format": link.replace(".csv?", ".xlsx?").replace("&section=overview", ""),
    }
    for what, other in others.items():
        response = await world.http.get(other)
        assert response.status_code == 403, what
        assert _error(response)["message"].startswith("the link's token allows another export")
    hidden = await world.http.get(link.replace(mine, theirs))
    missing = await world.http.get(link.replace(mine, NOWHERE))
    _same_answer(hidden, theirs, missing)


async def test_a_link_expires(world: Served) -> None:
    mine = _pro_creators(world)[0]
    request = ExportRequest(
        Kind.ACCOUNT,
        UUID(mine),
        Format.CSV,
        Days(date(2025, 5, 11), date(2025, 5, 31)),
        Section.OVERVIEW,
    )
    path = f"/export/accounts/{mine}.csv?{DAYS}&section=overview&token="
    fresh = issue_link_token(SECRET, request)
    assert (await world.http.get(path + fresh)).status_code == 200
    stale = issue_link_token(SECRET, request, now=time.time() - 3600)
    expired = await world.http.get(path + stale)
    assert expired.status_code == 401
    assert "the link has expired" in _error(expired)["message"]
    forged = issue_link_token("another-secret-of-at-least-32-bytes!!", request)
    assert (await world.http.get(path + forged)).status_code == 401


async def test_link_tokens_and_bearer_tokens_never_stand_in_for_each_other(
    world: Served,
) -> None:
    mine = _pro_creators(world)[0]
    creator = token(Role.CREATOR, mine)
    link = await _link(world, creator, ACCOUNT_LINK, id=mine, format="CSV", range=CUSTOM)
    link_token = parse_qs(urlsplit(link).query)["token"][0]
    # a link token is no bearer token: not at /graphql, not on the export routes
    graphql = await world.post("{ me { id } }", token=link_token)
    assert graphql.status_code == 401
    as_bearer = await download(world, f"/export/accounts/{mine}.csv?{DAYS}", link_token)
    assert as_bearer.status_code == 401
    # a bearer token is no link token
    as_link = await world.http.get(f"/export/accounts/{mine}.csv?{DAYS}&token={creator}")
    assert as_link.status_code == 401
    assert "not a valid export link" in _error(as_link)["message"]


async def test_export_link_refusals_and_no_cached_links(world: Served) -> None:
    mine = _pro_creators(world)[0]
    creator = token(Role.CREATOR, mine)
    variables = {"id": mine, "format": "XLSX", "section": "CONTENT"}
    response = await world.post(ACCOUNT_LINK, variables, token=creator)
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "section"}
    personal = _personal(world)
    refused = await world.post(ACCOUNT_LINK, {"id": personal, "format": "CSV"}, token=ADMIN)
    assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_PRO_ACCOUNT"
    # an answer holding a token that expires is never served from the answer cache
    for _ in range(2):
        again = await world.post(ACCOUNT_LINK, {"id": mine, "format": "CSV"}, token=creator)
        assert again.headers["analytics-graph-cache"] == "miss"
