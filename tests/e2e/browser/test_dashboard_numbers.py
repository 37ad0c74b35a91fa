"""The dashboard's numbers in a real browser equal the GraphQL answer for the same range
and the independent oracle over the generated events (``graphql_expected.py``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from analytics_graph.auth import Role
from tests.e2e.browser.chromium import local_page
from tests.e2e.browser.dashboard import (
    by_testid,
    number,
    open_signed_in,
    points,
    row_ids,
    show,
    shown_range,
)
from tests.e2e.graphql_expected import Expected
from tests.e2e.graphql_support import Served, token

METRICS = ["videoViews", "profileViews", "likes", "comments", "shares", "netFollowers"]
OVERVIEW = """query O($range: DateRangeInput!) { me { analytics(range: $range) {
  range { start end }
  overview { videoViews { ...M } profileViews { ...M } likes { ...M } comments { ...M }
    shares { ...M } netFollowers { ...M } }
  followers { total gained lost netChange activeHours { hour } activeDays { weekday }
    gender { key } ageRanges { key } topTerritories(first: 10) { key } }
  content { postedVideos { video { id } } trendingVideos { video { id } } } } } }
fragment M on Metric { total previousTotal changeRatio daily { date } }"""
VIDEO = """query V($id: ID!, $range: DateRangeInput) { video(id: $id) { analytics(range: $range) {
  views likes comments shares favorites newFollowers reachedAudience
  totalPlayTimeSeconds averageWatchTimeSeconds watchedFullVideoRatio
  daily { date } retention { second } trafficSources { key } } } }"""


def _account(world: Served, index: int) -> str:
    assert world.world is not None
    return str(world.world.accounts[index].id)


def _handle(world: Served, index: int) -> str:
    assert world.world is not None
    return world.world.accounts[index].handle


def _expected(world: Served) -> Expected:
    assert world.expected is not None
    return world.expected


async def _answer(world: Served, creator: str, range_: dict[str, Any]) -> dict[str, Any]:
    data = await world.data(OVERVIEW, {"range": range_}, token=creator)
    analytics: dict[str, Any] = data["me"]["analytics"]
    return analytics


async def _assert_overview(page: Page, answer: dict[str, Any], expected: dict[str, Any]) -> None:
    for name in METRICS:
        metric = answer["overview"][name]
        assert await number(page, f"overview-{name}-total") == metric["total"], name
        assert await number(page, f"overview-{name}-previous") == metric["previousTotal"], name
        shown = await page.locator(by_testid(f"overview-{name}-change")).get_attribute("data-value")
        ratio = metric["changeRatio"]
        if ratio is None:
            assert shown == "", name
        else:
            assert float(shown or "nan") == pytest.approx(ratio), name
        assert await points(page, f"overview-{name}-chart") == len(metric["daily"]), name
        assert metric["total"] == expected[name]["total"], name
        assert metric["previousTotal"] == expected[name]["previousTotal"], name
    assert await number(page, "overview-followers-total") == answer["followers"]["total"]


def _days(start: str, end: str) -> int:
    return (date.fromisoformat(end) - date.fromisoformat(start)).days + 1


def _dates(start: str, end: str) -> tuple[date, date]:
    return date.fromisoformat(start), date.fromisoformat(end)


async def test_the_overview_equals_graphql_and_the_events_and_follows_the_range(
    world: Served, browser: Browser
) -> None:
    account = _account(world, 0)
    creator = token(Role.CREATOR, account)
    async with local_page(browser) as (page, network, _):
        await open_signed_in(page, world.base_url, creator)
        assert (
            await page.locator(by_testid("account-handle")).inner_text() == f"@{_handle(world, 0)}"
        )
        assert "token=" not in page.url  # the token left the address

        for preset, days in (("LAST_28_DAYS", 28), ("LAST_7_DAYS", 7), ("LAST_60_DAYS", 60)):
            if preset != "LAST_28_DAYS":  # the page opens on 28 days
                before = await shown_range(page)
                await page.click(by_testid(f"range-preset-{preset}"))
                await page.wait_for_function(
                    "(start) => { const v = document.querySelector('[data-testid=view]');"
                    " return v.dataset.state === 'ready' && v.dataset.rangeStart !== start; }",
                    arg=before[0],
                )
            answer = await _answer(world, creator, {"preset": preset})
            start, end = await shown_range(page)
            assert (start, end) == (answer["range"]["start"], answer["range"]["end"])
            assert _days(start, end) == days
            expected = _expected(world).overview(account, *_dates(start, end))
            await _assert_overview(page, answer, expected)

        start = (date.fromisoformat(end) - timedelta(days=20)).isoformat()
        finish = (date.fromisoformat(end) - timedelta(days=3)).isoformat()
        await page.fill(by_testid("range-custom-start"), start)
        await page.fill(by_testid("range-custom-end"), finish)
        await page.click(by_testid("range-custom-apply"))
        await page.wait_for_function(
            "(end) => { const v = document.querySelector('[data-testid=view]');"
            " return v.dataset.state === 'ready' && v.dataset.rangeEnd === end; }",
            arg=finish,
        )
        custom = {"custom": {"start": start, "end": finish}}
        answer = await _answer(world, creator, custom)
        assert await shown_range(page) == (start, finish)
        await _assert_overview(
            page, answer, _expected(world).overview(account, *_dates(start, finish))
        )
        assert await points(page, "overview-videoViews-chart") == 18

        await page.click(by_testid("nav-followers"))  # the range goes along
        await page.wait_for_function(
            "() => location.hash.startsWith('#/followers') &&"
            " document.querySelector('[data-testid=view]').dataset.state === 'ready'"
        )
        assert await shown_range(page) == (start, finish)
        assert await points(page, "followers-growth-chart") == 18
        assert network.left_the_machine() == []


async def test_the_followers_and_content_sections_equal_graphql_and_the_events(
    world: Served, browser: Browser
) -> None:
    account = _account(world, 0)
    creator = token(Role.CREATOR, account)
    expected = _expected(world)
    async with local_page(browser) as (page, network, _):
        await open_signed_in(page, world.base_url, creator, "followers?preset=LAST_28_DAYS")
        answer = await _answer(world, creator, {"preset": "LAST_28_DAYS"})
        start, end = await shown_range(page)
        oracle = expected.followers(account, *_dates(start, end))
        for name in ("total", "gained", "lost", "netChange"):
            assert await number(page, f"followers-{name}") == answer["followers"][name], name
            assert answer["followers"][name] == oracle[name], name
        assert await points(page, "followers-growth-chart") == 28
        assert await points(page, "followers-activeHours-chart") == 24
        assert await points(page, "followers-activeDays-chart") == 7
        for chart, field in (
            ("followers-gender-chart", "gender"),
            ("followers-ageRanges-chart", "ageRanges"),
            ("followers-territories-chart", "topTerritories"),
        ):
            assert await points(page, chart) == len(answer["followers"][field]), chart

        await show(page, "content?preset=LAST_28_DAYS")
        content = answer["content"]
        posted = [s["video"]["id"] for s in content["postedVideos"]]
        trending = [s["video"]["id"] for s in content["trendingVideos"]]
        assert await row_ids(page, "content-posted-row") == posted
        assert posted == expected.posted(account, *_dates(start, end))
        assert await row_ids(page, "content-trending-row") == trending
        assert trending == expected.trending(account, date.fromisoformat(end))
        assert await points(page, "content-trending-chart") == len(trending)
        for row in await page.locator(by_testid("content-trending-row")).all():
            video_id = await row.get_attribute("data-video-id")
            assert video_id is not None
            views = await row.locator('[data-field="views"]').get_attribute("data-value")
            assert (
                int(views or "-1") == expected.video_stats(video_id, *_dates(start, end))["views"]
            )
        assert network.left_the_machine() == []


async def test_a_video_page_equals_graphql_and_the_events(world: Served, browser: Browser) -> None:
    account = _account(world, 0)
    creator = token(Role.CREATOR, account)
    async with local_page(browser) as (page, _, _context):
        await open_signed_in(page, world.base_url, creator, "content?preset=LAST_28_DAYS")
        first = page.locator(by_testid("content-trending-row")).first
        video_id = await first.get_attribute("data-video-id")
        assert video_id is not None
        await first.locator("a").click()
        await page.wait_for_function(
            "() => location.hash.startsWith('#/video/') &&"
            " document.querySelector('[data-testid=view]').dataset.state === 'ready'"
        )
        data = await world.data(VIDEO, {"id": video_id, "range": {"preset": "LAST_28_DAYS"}},
                                token=creator)  # fmt: skip
        analytics = data["video"]["analytics"]
        start, end = await shown_range(page)
        oracle = _expected(world).video_analytics(video_id, *_dates(start, end))
        for name in ("views", "likes", "comments", "shares", "favorites", "newFollowers"):
            assert await number(page, f"video-{name}") == analytics[name], name
            assert analytics[name] == oracle[name], name
        assert await number(page, "video-reachedAudience") == analytics["reachedAudience"]
        for name in ("totalPlayTimeSeconds", "averageWatchTimeSeconds", "watchedFullVideoRatio"):
            raw = await page.locator(by_testid(f"video-{name}")).get_attribute("data-value")
            assert float(raw or "nan") == pytest.approx(analytics[name]), name
            assert analytics[name] == pytest.approx(oracle[name]), name
        assert await points(page, "video-daily-chart") == len(analytics["daily"]) == 28
        assert await points(page, "video-retention-chart") == len(analytics["retention"])
        assert await points(page, "video-trafficSources-chart") == len(analytics["trafficSources"])
