"""The export buttons download, through a short-lived ``exportLink``, files whose
numbers equal what the page shows."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
from playwright.async_api import Browser, Page

from analytics_graph.auth import Role
from tests.e2e.browser.chromium import local_page
from tests.e2e.browser.dashboard import by_testid, number, open_signed_in, show, shown_range
from tests.e2e.graphql_support import Served, token

METRICS = ["videoViews", "profileViews", "likes", "comments", "shares", "netFollowers"]


async def _download(page: Page, button: str, folder: Path) -> tuple[str, bytes]:
    async with page.expect_download() as info:
        await page.click(by_testid(button))
    download = await info.value
    target = folder / download.suggested_filename
    await download.save_as(target)
    return download.suggested_filename, target.read_bytes()


def _sheet(content: bytes, title: str) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    try:
        return [tuple(row) for row in workbook[title].iter_rows(values_only=True)]
    finally:
        workbook.close()


async def test_the_export_buttons_download_the_numbers_the_page_shows(
    world: Served, browser: Browser, tmp_path: Path
) -> None:
    assert world.world is not None
    account = world.world.accounts[0]
    video = next(
        v for v in world.world.videos if v.account_id == account.id and v.deleted_at is None
    )
    creator = token(Role.CREATOR, account.id)
    async with local_page(browser) as (page, network, _):
        await open_signed_in(page, world.base_url, creator, "overview?preset=LAST_28_DAYS")
        start, end = await shown_range(page)
        name, body = await _download(page, "export-csv", tmp_path)
        assert name == f"{account.handle}_overview_{start}_{end}.csv"
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
        assert [r["date"] for r in (rows[0], rows[-1])] == [start, end]
        assert len(rows) == 28
        for metric in METRICS:
            exported = sum(int(r[metric]) for r in rows)
            assert exported == await number(page, f"overview-{metric}-total"), metric
        followers = await number(page, "overview-followers-total")
        assert int(rows[-1]["followerTotal"]) == followers

        await show(page, "followers?preset=LAST_28_DAYS")
        name, body = await _download(page, "export-xlsx", tmp_path)
        assert name == f"{account.handle}_{start}_{end}.xlsx"
        parts = {(row[0], row[1]): row[2] for row in _sheet(body, "Followers")[1:]}
        for field in ("total", "gained", "lost", "netChange"):
            assert parts[(field, None)] == await number(page, f"followers-{field}"), field
        overview = _sheet(body, "Overview")
        header = overview[0]
        views = sum(row[header.index("videoViews")] for row in overview[1:])
        await show(page, "overview?preset=LAST_28_DAYS")
        assert views == await number(page, "overview-videoViews-total")

        await show(page, f"video/{video.id}?preset=LAST_28_DAYS")
        _, body = await _download(page, "export-xlsx", tmp_path)
        totals = dict(row[:2] for row in _sheet(body, "Totals")[1:])
        for field in ("views", "likes", "comments", "shares", "favorites", "reachedAudience"):
            assert totals[field] == await number(page, f"video-{field}"), field
        assert network.left_the_machine() == []
