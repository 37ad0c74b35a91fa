"""The page stays live: an event recorded while it is open changes the shown numbers
within seconds, without a reload (the accountMetrics / videoMetrics subscriptions)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Browser, Page
from playwright.async_api import TimeoutError as PageTimeout

from analytics_graph.auth import Role
from tests.e2e.browser.chromium import local_page
from tests.e2e.browser.dashboard import by_testid, number, open_signed_in, show
from tests.e2e.graphql_support import Served, token

INGEST = token(Role.INGEST)
RECORD = """mutation Record($events: [EngagementEventInput!]!) { recordEngagement(events: $events) {
  __typename ... on IngestResult { accepted } } }"""
TOTALS = """query T($id: ID!) { me { analytics(range: {preset: LAST_7_DAYS}) {
  overview { profileViews { total } } } } video(id: $id) { analytics { views } } }"""
ATTEMPTS = 3  # a subscription registered a moment after its ack misses at most one notice


def _now() -> str:
    return (datetime.now(UTC) - timedelta(seconds=5)).isoformat()


def _profile_view(account_id: str) -> dict[str, Any]:
    return {"profileView": {"eventId": str(uuid.uuid4()), "occurredAt": _now(),
                            "accountId": account_id, "viewerId": "browser"}}  # fmt: skip


def _view(video_id: str) -> dict[str, Any]:
    return {"view": {"eventId": str(uuid.uuid4()), "occurredAt": _now(), "videoId": video_id,
                     "viewerId": "browser", "watchedSeconds": 2.0, "source": "SEARCH",
                     "searchTerm": "live"}}  # fmt: skip


async def _record(world: Served, event: dict[str, Any]) -> None:
    result = await world.data(RECORD, {"events": [event]}, token=INGEST)
    assert result["recordEngagement"] == {"__typename": "IngestResult", "accepted": 1}


async def _shows(page: Page, name: str, value: int, within_ms: int) -> bool:
    try:
        await page.wait_for_function(
            "([id, text]) => document.querySelector(`[data-testid='${id}']`)"
            "?.textContent.replaceAll(',', '') === text",
            arg=[name, str(value)],
            timeout=within_ms,
        )
    except PageTimeout:
        return False
    return True


async def _moves_live(
    world: Served, page: Page, name: str, event: Any, total: Any
) -> tuple[int, int]:
    """Records events until the page shows the new total; returns (before, after)."""
    before = await number(page, name)
    await page.evaluate("() => { window.notReloaded = true; }")
    for _ in range(ATTEMPTS):
        await _record(world, event())
        await world.caught_up()
        now = await total()
        if await _shows(page, name, now, 10_000):
            assert await page.evaluate("() => window.notReloaded === true")
            return before, now
    raise AssertionError(f"{name} never showed the recorded events")


async def test_an_event_recorded_while_the_page_is_open_moves_the_numbers(
    world: Served, browser: Browser
) -> None:
    assert world.world is not None
    account = world.world.accounts[2]
    video = next(
        v for v in world.world.videos if v.account_id == account.id and v.deleted_at is None
    )
    creator = token(Role.CREATOR, account.id)

    async def totals() -> dict[str, Any]:
        return await world.data(TOTALS, {"id": str(video.id)}, token=creator)

    async def profile_views() -> int:
        return int((await totals())["me"]["analytics"]["overview"]["profileViews"]["total"])

    async def video_views() -> int:
        return int((await totals())["video"]["analytics"]["views"])

    async with local_page(browser) as (page, network, _):
        await open_signed_in(page, world.base_url, creator, "overview?preset=LAST_7_DAYS")
        await page.wait_for_selector(by_testid("live-status") + '[data-state="live"]')
        before, after = await _moves_live(
            world, page, "overview-profileViews-total",
            lambda: _profile_view(str(account.id)), profile_views,
        )  # fmt: skip
        assert after > before

        await show(page, f"video/{video.id}")
        before, after = await _moves_live(
            world, page, "video-views", lambda: _view(str(video.id)), video_views
        )
        assert after > before
        assert network.left_the_machine() == []
