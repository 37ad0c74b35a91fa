"""Every exported cell, through the real app: equal to the GraphQL answer for the same
range, and to the oracle over the generated events (``graphql_expected.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest

from analytics_graph.auth import Role
from analytics_graph.simulation import SimulationConfig
from tests.e2e.export_support import (
    CONTENT_HEADER,
    DASHBOARD,
    OVERVIEW_HEADER,
    PARTS_HEADER,
    VIDEO,
    as_text,
    content_rows,
    csv_rows,
    download,
    follower_rows,
    for_sheet,
    oracle_content,
    oracle_followers,
    oracle_overview,
    overview_rows,
    sheet_rows,
    video_long_rows,
    video_sheets,
    workbook,
)
from tests.e2e.graphql_expected import Expected
from tests.e2e.graphql_support import Served, serve, token

CONFIG = SimulationConfig(seed=23, accounts=5, pro_ratio=0.8, events=25_000, users=1_500,
                          deleted_ratio=0.2)  # fmt: skip
START, END = date(2025, 5, 4), date(2025, 5, 31)
AUDITOR = token(Role.AUDITOR)


@pytest.fixture(scope="module")
async def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("export"), CONFIG) as served:
        yield served


def _expected(world: Served) -> Expected:
    assert world.expected is not None
    return world.expected


def _pro_accounts(world: Served) -> list[str]:
    assert world.world is not None
    return [str(a.id) for a in world.world.accounts if a.is_pro]


def _range() -> dict[str, Any]:
    return {"custom": {"start": START.isoformat(), "end": END.isoformat()}}


def _approx(rows: list[list[Any]]) -> list[list[Any]]:
    return [[pytest.approx(v) if isinstance(v, float) else v for v in row] for row in rows]


async def _dashboard(world: Served, account_id: str) -> dict[str, Any]:
    data = await world.data(DASHBOARD, {"id": account_id, "range": _range()}, token=AUDITOR)
    account: dict[str, Any] = data["account"]
    return account


async def test_account_csv_sections_equal_graphql_and_the_events(world: Served) -> None:
    expected = _expected(world)
    query = f"start={START}&end={END}"
    for account_id in _pro_accounts(world):
        analytics = (await _dashboard(world, account_id))["analytics"]
        sections = {
            "overview": (OVERVIEW_HEADER, overview_rows(analytics), oracle_overview),
            "content": (CONTENT_HEADER, content_rows(analytics), oracle_content),
            "followers": (PARTS_HEADER, follower_rows(analytics), oracle_followers),
        }
        for section, (header, from_graphql, oracle) in sections.items():
            path = f"/export/accounts/{account_id}.csv?{query}&section={section}"
            header_row, *rows = csv_rows(await download(world, path, AUDITOR))
            assert header_row == header, section
            assert rows == as_text(from_graphql), section
            assert _approx(oracle(expected, account_id, START, END)) == from_graphql, section
        # the overview is the default section
        default = await download(world, f"/export/accounts/{account_id}.csv?{query}", AUDITOR)
        assert csv_rows(default)[1:] == as_text(sections["overview"][1])


async def test_account_xlsx_sheets_equal_graphql(world: Served) -> None:
    for account_id in _pro_accounts(world):
        account = await _dashboard(world, account_id)
        analytics = account["analytics"]
        path = f"/export/accounts/{account_id}.xlsx?start={START}&end={END}"
        response = await download(world, path, AUDITOR)
        book = workbook(response)
        assert book.sheetnames == ["Overview", "Content", "Followers"]
        sheets = {
            "Overview": (OVERVIEW_HEADER, overview_rows(analytics)),
            "Content": (CONTENT_HEADER, content_rows(analytics)),
            "Followers": (PARTS_HEADER, follower_rows(analytics)),
        }
        for title, (header, rows) in sheets.items():
            header_row, *shown = sheet_rows(book, title)
            assert list(header_row) == header, title
            assert [list(r) for r in shown] == for_sheet(rows), title
        disposition = response.headers["content-disposition"]
        assert disposition == f'attachment; filename="{account["handle"]}_{START}_{END}.xlsx"'


def _videos(world: Served) -> list[str]:
    """The most viewed videos of Pro accounts (deleted ones included), and a quiet one."""
    expected = _expected(world)
    pro = set(_pro_accounts(world))
    chosen = [v for v, f in expected.videos.items() if str(f.video.account_id) in pro]
    chosen.sort(key=lambda v: len(expected.videos[v].views), reverse=True)
    return chosen[:3] + chosen[-1:]


@pytest.mark.parametrize("ranged", [False, True])
async def test_video_exports_equal_graphql_and_the_events(world: Served, ranged: bool) -> None:
    expected = _expected(world)
    for video_id in _videos(world):
        variables = {"id": video_id, "range": _range() if ranged else None}
        analytics = (await world.data(VIDEO, variables, token=AUDITOR))["video"]["analytics"]
        query = f"?start={START}&end={END}" if ranged else ""
        header, *rows = csv_rows(
            await download(world, f"/export/videos/{video_id}.csv{query}", AUDITOR)
        )
        assert header == PARTS_HEADER
        assert rows == as_text(video_long_rows(analytics))
        book = workbook(await download(world, f"/export/videos/{video_id}.xlsx{query}", AUDITOR))
        for title, wanted in video_sheets(analytics).items():
            assert [list(r) for r in sheet_rows(book, title)[1:]] == for_sheet(wanted), title
        span = (START, END) if ranged else expected.lifetime(video_id)
        _check_oracle(expected, video_id, span, video_sheets(analytics))


def _check_oracle(
    expected: Expected, video_id: str, span: tuple[date, date], sheets: dict[str, Any]
) -> None:
    wanted = expected.video_analytics(video_id, *span)  # reach and retention: the range's
    assert dict(sheets["Totals"]) == {k: pytest.approx(wanted[k]) for k, _ in sheets["Totals"]}
    assert {k: c for k, c, _ in sheets["Traffic sources"]} == wanted["trafficSources"]
    assert {k: c for k, c, _ in sheets["Search terms"]} == wanted["searchQueries"]
    assert [r for _, r in sheets["Retention"]] == pytest.approx(wanted["retention"])
    daily = [[date.fromisoformat(d["date"]), *(d[k] for k in (
        "views", "playTimeSeconds", "likes", "comments", "shares", "newFollowers"))]
        for d in wanted["daily"]]  # fmt: skip
    assert sheets["Daily"] == _approx(daily)
    hourly = [[datetime.fromisoformat(h["hour"]), h["views"]] for h in wanted["hourly"]]
    assert sheets["First 48 hours"] == hourly
