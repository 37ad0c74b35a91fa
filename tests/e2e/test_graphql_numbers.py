"""Every number of the contract, through the real app, against plain Python over the
generated events (``graphql_expected.py``, which never calls the code under test)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from analytics_graph.auth import Role
from analytics_graph.simulation import SimulationConfig
from tests.e2e.graphql_expected import Expected
from tests.e2e.graphql_support import Served, serve, token

CONFIG = SimulationConfig(seed=11, accounts=8, events=40_000, users=3_000, deleted_ratio=0.2)
RANGES = [(date(2025, 5, 4), date(2025, 5, 31)), (date(2025, 5, 14), date(2025, 5, 20))]
AUDITOR = token(Role.AUDITOR)

DASHBOARD = """query D($id: ID!, $range: DateRangeInput!) { account(id: $id) { followerCount
  analytics(range: $range) {
    range { start end }
    overview {
      videoViews { ...M } profileViews { ...M } likes { ...M } comments { ...M } shares { ...M }
      netFollowers { ...M } }
    content {
      postedVideos { ...S }
      trendingVideos { ...S } }
    followers { total gained lost netChange growth { date value }
      gender { key count ratio } ageRanges { key count ratio } topTerritories { key count ratio }
      allTerritories: topTerritories(first: 250) { key count ratio }
      activeHours { hour value } activeDays { weekday value } } } } }
fragment M on Metric { total previousTotal changeRatio daily { date value } }
fragment S on VideoStats {
  video { id } views likes comments shares viewsGained7d engagementRate }"""
VIDEO = """query V($id: ID!, $range: DateRangeInput) {
  video(id: $id) { id analytics(range: $range) {
  views likes comments shares favorites totalPlayTimeSeconds averageWatchTimeSeconds
  watchedFullVideoRatio newFollowers reachedAudience engagementRate
  trafficSources { key count ratio } searchQueries(first: 100) { key count ratio }
  retention { second ratio }
  daily { date views playTimeSeconds likes comments shares newFollowers }
  hourly { hour views } } } }"""


@pytest.fixture(scope="module")
async def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("numbers"), CONFIG) as served:
        yield served


def _expected(world: Served) -> Expected:
    assert world.expected is not None
    return world.expected


def _pro_accounts(world: Served) -> list[str]:
    assert world.world is not None
    return [str(a.id) for a in world.world.accounts if a.is_pro]


def _custom(start: date, end: date) -> dict[str, Any]:
    return {"custom": {"start": start.isoformat(), "end": end.isoformat()}}


def _approx_metric(metric: dict[str, Any]) -> dict[str, Any]:
    ratio = metric["changeRatio"]
    return {**metric, "changeRatio": None if ratio is None else pytest.approx(ratio)}


@pytest.mark.parametrize(("start", "end"), RANGES)
async def test_the_overview_matches_the_events(world: Served, start: date, end: date) -> None:
    expected = _expected(world)
    for account_id in _pro_accounts(world):
        data = await world.data(
            DASHBOARD, {"id": account_id, "range": _custom(start, end)}, token=AUDITOR
        )
        analytics = data["account"]["analytics"]
        assert analytics["range"] == {"start": start.isoformat(), "end": end.isoformat()}
        wanted = expected.overview(account_id, start, end)
        assert analytics["overview"] == {k: _approx_metric(v) for k, v in wanted.items()}


@pytest.mark.parametrize(("start", "end"), RANGES)
async def test_the_content_section_matches_the_events(
    world: Served, start: date, end: date
) -> None:
    expected = _expected(world)
    for account_id in _pro_accounts(world):
        data = await world.data(
            DASHBOARD, {"id": account_id, "range": _custom(start, end)}, token=AUDITOR
        )
        content = data["account"]["analytics"]["content"]
        posted = [s["video"]["id"] for s in content["postedVideos"]]
        assert posted == expected.posted(account_id, start, end)
        trending = [s["video"]["id"] for s in content["trendingVideos"]]
        assert trending == expected.trending(account_id, end)
        for stats in content["postedVideos"] + content["trendingVideos"]:
            video_id = stats.pop("video")["id"]
            wanted = expected.video_stats(video_id, start, end)
            assert stats == wanted | {"engagementRate": pytest.approx(wanted["engagementRate"])}


@pytest.mark.parametrize(("start", "end"), RANGES)
async def test_the_followers_section_matches_the_events(
    world: Served, start: date, end: date
) -> None:
    expected = _expected(world)
    for account_id in _pro_accounts(world):
        data = await world.data(
            DASHBOARD, {"id": account_id, "range": _custom(start, end)}, token=AUDITOR
        )
        assert data["account"]["followerCount"] == expected.follower_count(account_id)
        followers = data["account"]["analytics"]["followers"]
        wanted = expected.followers(account_id, start, end)
        assert {k: followers[k] for k in wanted} == wanted
        _check_demographics(expected, account_id, followers)


def _check_demographics(expected: Expected, account_id: str, followers: dict[str, Any]) -> None:
    wanted = expected.demographics(account_id)
    current = expected.follower_count(account_id)
    for name, shown in (("gender", followers["gender"]), ("ageRanges", followers["ageRanges"]),
                        ("territories", followers["allTerritories"])):  # fmt: skip
        assert {s["key"]: s["count"] for s in shown} == wanted[name], name
        for share in shown:
            assert share["ratio"] == pytest.approx(share["count"] / current)
    top = [s["count"] for s in followers["topTerritories"]]
    assert top == sorted(wanted["territories"].values(), reverse=True)[:5]


def _videos(world: Served, count: int) -> list[str]:
    """The most viewed videos (deleted ones included), and a few quiet ones."""
    expected = _expected(world)
    by_views = sorted(expected.videos, key=lambda v: len(expected.videos[v].views), reverse=True)
    pro = {str(a) for a in _pro_accounts(world)}
    chosen = [v for v in by_views if str(expected.videos[v].video.account_id) in pro]
    return chosen[:count] + chosen[-2:]


async def test_lifetime_video_analytics_match_the_events(world: Served) -> None:
    expected = _expected(world)
    for video_id in _videos(world, 4):
        data = await world.data(VIDEO, {"id": video_id}, token=AUDITOR)
        wanted = expected.video_analytics(video_id, *expected.lifetime(video_id))
        _check_video(data["video"]["analytics"], wanted)


def _video_ranges(expected: Expected, video_id: str) -> list[tuple[date, date]]:
    """Inside the video's life, across its publication, across its last day, before
    it was published, and long after."""
    first, last = expected.lifetime(video_id)
    week = timedelta(days=6)
    return [
        RANGES[1],
        (first + timedelta(days=1), first + timedelta(days=1) + week),
        (first - timedelta(days=3), first + timedelta(days=3)),
        (last - timedelta(days=3), last + timedelta(days=3)),
        (first - timedelta(days=40), first - timedelta(days=1)),
        (last + timedelta(days=100), last + timedelta(days=127)),
    ]


async def test_video_analytics_over_a_range_match_the_events(world: Served) -> None:
    """Every number, reach and retention included, covers the range asked."""
    expected = _expected(world)
    for video_id in _videos(world, 3):
        for start, end in _video_ranges(expected, video_id):
            variables = {"id": video_id, "range": _custom(start, end)}
            data = await world.data(VIDEO, variables, token=AUDITOR)
            wanted = expected.video_analytics(video_id, start, end)
            _check_video(data["video"]["analytics"], wanted)


VIEWERS = """query W($id: ID!, $range: DateRangeInput!) { account(id: $id) {
  analytics(range: $range) { viewers { total new returning daily { date total new } } } } }"""


@pytest.mark.parametrize(("start", "end"), [*RANGES, (date(2025, 1, 1), date(2025, 5, 31))])
async def test_viewers_match_the_events(world: Served, start: date, end: date) -> None:
    expected = _expected(world)
    for account_id in _pro_accounts(world):
        variables = {"id": account_id, "range": _custom(start, end)}
        data = await world.data(VIEWERS, variables, token=AUDITOR)
        viewers = data["account"]["analytics"]["viewers"]
        assert viewers == expected.viewers(account_id, start, end)
        assert viewers["total"] > 0


COMPARISON = """query C($id: ID!, $videos: [ID!]!, $days: Int) { account(id: $id) {
  videoComparison(videoIds: $videos, days: $days) {
    videos { video { id } cumulativeViews percentile hourly } median } } }"""


async def test_video_comparison_matches_the_events(world: Served) -> None:
    expected, today = _expected(world), datetime.now(UTC).date()
    for account_id in _pro_accounts(world):
        videos = [str(v.id) for v in expected.live_videos(account_id)][:10]
        deleted = [str(f.video.id) for f in expected.videos.values()
                   if str(f.video.account_id) == account_id and f.video.deleted_at]  # fmt: skip
        chosen = (videos[:9] + deleted[:1])[:10]
        for days_ in (90, 7):
            variables = {"id": account_id, "videos": chosen, "days": days_}
            data = await world.data(COMPARISON, variables, token=AUDITOR)
            shown = data["account"]["videoComparison"]
            wanted = expected.comparison(account_id, chosen, days_, today)
            assert shown["median"] == pytest.approx(wanted["median"])
            for got, want in zip(shown["videos"], wanted["videos"], strict=True):
                assert got == want | {"percentile": pytest.approx(want["percentile"])}


async def test_comparison_refuses_what_is_not_the_accounts(world: Served) -> None:
    """Another account's video and an unknown id answer alike, naming the argument."""
    expected = _expected(world)
    mine, other = _pro_accounts(world)[:2]
    theirs = str(expected.live_videos(other)[0].id)
    answers = []
    for unknown in (theirs, "00000000-0000-4000-8000-000000000000"):
        variables = {"id": mine, "videos": [unknown], "days": 7}
        body = (await world.post(COMPARISON, variables, token=AUDITOR)).json()
        error = body["errors"][0]
        assert error["extensions"]["argument"] == "videoIds"
        answers.append((body["data"], error["message"].replace(unknown, "ID")))
    assert answers[0] == answers[1]
    too_many = {"id": mine, "videos": [theirs] * 11, "days": 7}
    body = (await world.post(COMPARISON, too_many, token=AUDITOR)).json()
    assert "videoIds" in body["errors"][0]["message"]
    too_long = {"id": mine, "videos": [theirs], "days": 366}
    body = (await world.post(COMPARISON, too_long, token=AUDITOR)).json()
    assert body["errors"][0]["extensions"]["argument"] == "days"


async def test_as_of_names_the_last_position_included(world: Served) -> None:
    query = """query F($id: ID!, $video: ID!) {
      account(id: $id) { analytics(range: {preset: LAST_7_DAYS}) { asOf { position recordedAt } } }
      video(id: $video) { analytics { asOf { position recordedAt } } } }"""
    account_id = _pro_accounts(world)[0]
    video_id = _videos(world, 1)[0]
    await world.caught_up()
    data = await world.data(query, {"id": account_id, "video": video_id}, token=AUDITOR)
    head = await world.store.last_position()
    for as_of in (data["account"]["analytics"]["asOf"], data["video"]["analytics"]["asOf"]):
        assert as_of["position"] == head
        recorded = await world.store.pool.fetchval(
            "SELECT recorded_at FROM events WHERE position = $1", head
        )
        assert datetime.fromisoformat(as_of["recordedAt"]) == recorded


def _check_video(shown: dict[str, Any], wanted: dict[str, Any]) -> None:
    for name in (
        "views",
        "likes",
        "comments",
        "shares",
        "favorites",
        "newFollowers",
        "reachedAudience",
    ):
        assert shown[name] == wanted[name], name
    for name in (
        "totalPlayTimeSeconds",
        "averageWatchTimeSeconds",
        "watchedFullVideoRatio",
        "engagementRate",
    ):
        assert shown[name] == pytest.approx(wanted[name]), name
    views, searched = wanted["views"], wanted["searchedViews"]
    assert {s["key"]: s["count"] for s in shown["trafficSources"]} == wanted["trafficSources"]
    assert [s["ratio"] for s in shown["trafficSources"]] == pytest.approx(
        [s["count"] / views for s in shown["trafficSources"]]
    )
    assert {s["key"]: s["count"] for s in shown["searchQueries"]} == wanted["searchQueries"]
    assert [s["ratio"] for s in shown["searchQueries"]] == pytest.approx(
        [s["count"] / searched for s in shown["searchQueries"]]
    )
    assert [p["second"] for p in shown["retention"]] == list(range(len(wanted["retention"])))
    assert [p["ratio"] for p in shown["retention"]] == pytest.approx(wanted["retention"])
    assert [
        {**d, "playTimeSeconds": pytest.approx(d["playTimeSeconds"])} for d in wanted["daily"]
    ] == shown["daily"]
    assert shown["hourly"] == wanted["hourly"]


async def test_an_accounts_videos_page_newest_first(world: Served) -> None:
    expected = _expected(world)
    query = """query P($id: ID!, $after: String) {
      account(id: $id) { videos(first: 2, after: $after) {
      edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }"""
    for account_id in _pro_accounts(world)[:3]:
        seen, after = [], None
        while True:
            data = await world.data(query, {"id": account_id, "after": after}, token=AUDITOR)
            page = data["account"]["videos"]
            seen += [e["node"]["id"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
            assert after == page["edges"][-1]["cursor"]
        assert seen == [str(v.id) for v in expected.live_videos(account_id)]


async def test_presets_count_back_from_today(world: Served) -> None:
    account_id = _pro_accounts(world)[0]
    query = """query P($id: ID!) { account(id: $id) { analytics(range: {preset: LAST_7_DAYS}) {
      range { start end } overview { videoViews { daily { date } } } } } }"""
    before = datetime.now(UTC).date()
    data = await world.data(query, {"id": account_id}, token=AUDITOR)
    analytics = data["account"]["analytics"]
    today = date.fromisoformat(analytics["range"]["end"])
    assert today in (before, datetime.now(UTC).date())
    assert analytics["range"]["start"] == (today - timedelta(days=6)).isoformat()
    assert len(analytics["overview"]["videoViews"]["daily"]) == 7


async def test_the_event_log_pages_in_order(world: Served) -> None:
    assert world.world is not None
    query = """query L($after: Position, $types: [String!], $stream: ID) {
      eventLog(after: $after, first: 1000, types: $types, streamId: $stream) {
        events { position streamId streamVersion type occurredAt data }
        endPosition hasNextPage } }"""
    follows, after = [], None
    while True:
        page = (await world.data(query, {"after": after, "types": ["follow"]}, token=AUDITOR))[
            "eventLog"
        ]
        follows += page["events"]
        if not page["hasNextPage"]:
            break
        after = page["endPosition"]
    positions = [e["position"] for e in follows]
    assert positions == sorted(positions)
    unique = {e["eventId"] for e in world.world.events() if e["type"] == "follow"}
    assert {e["data"]["eventId"] for e in follows} == unique
    assert len(follows) == len(unique)

    video = world.world.videos[0]
    stream = await world.data(query, {"stream": str(video.id), "types": None}, token=AUDITOR)
    published = stream["eventLog"]["events"][0]
    assert published["type"].endswith("Video.Published")
    assert published["streamVersion"] == 1
    assert published["data"]["caption"] == video.caption
