"""Compares every query module's answers with the oracle's (``projection_oracle``).

``check_all`` is what the projection tests call after the runner has caught up;
each ``check_*`` covers one read model, exactly (floats compared with ``==``).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, timedelta
from uuid import UUID

import asyncpg

from analytics_graph.projection import live_schema
from analytics_graph.simulation import World
from analytics_graph.types import Connection
from projections.account_viewers import queries as viewer_queries
from projections.engagement import accounts as account_queries
from projections.engagement import content, hourly, videos
from projections.entities import queries as entity_queries
from projections.followers import queries as follower_queries
from projections.readmodel import days, previous_period
from tests.integration.projection_oracle import COUNT_FIELDS, Counts, Expected, hour_of


def spans(world: World) -> list[tuple[date, date]]:
    """The whole history (late events included), and a few shorter ranges."""
    first, last = (world.start - timedelta(days=7)).date(), world.config.end.date()
    middle = first + (last - first) / 2
    return [(first, last), (middle, middle + timedelta(days=6)), (last, last)]


def share_counts(items: list[object]) -> dict[str, int]:
    return {s.key: s.count for s in items}  # type: ignore[attr-defined]


async def check_entities(conn: Connection, world: World) -> None:
    found = await entity_queries.accounts(conn, [a.id for a in world.accounts])
    for account in world.accounts:
        got = found[account.id]
        assert (got.handle, got.display_name, got.account_type, got.is_pro) == (
            account.handle, account.display_name, account.account_type, account.is_pro
        )  # fmt: skip
    got_videos = await entity_queries.videos(conn, [v.id for v in world.videos])
    for video in world.videos:
        got_video = got_videos[video.id]
        assert got_video.account_id == video.account_id
        assert got_video.duration_seconds == video.duration_seconds
        assert got_video.published_at == video.published_at
        assert got_video.deleted == (video.deleted_at is not None)


async def check_overview(conn: Connection, world: World, exp: Expected) -> None:
    names = ("video_views", "profile_views", "likes", "comments", "shares")
    for account in world.accounts:
        for start, end in spans(world):
            got = await account_queries.overview(conn, account.id, start, end)
            p_start, p_end = previous_period(start, end)
            for name in names:
                metric = getattr(got, name)
                daily = [exp.account_days[account.id, d][name] for d in days(start, end)]
                assert [v.value for v in metric.daily] == daily, (account.id, name)
                assert metric.total == sum(daily)
                previous = sum(exp.account_days[account.id, d][name] for d in days(p_start, p_end))
                assert metric.previous_total == previous


async def check_followers(conn: Connection, world: World, exp: Expected) -> None:
    counts = await follower_queries.follower_counts(conn, [a.id for a in world.accounts])
    for account in world.accounts:
        assert counts[account.id] == len(exp.followers[account.id])
        for start, end in spans(world):
            got = await follower_queries.follower_growth(conn, account.id, start, end)
            in_range = [exp.follower_days[account.id, d] for d in days(start, end)]
            assert got.gained == sum(c["gained"] for c in in_range)
            assert got.lost == sum(c["lost"] for c in in_range)
            assert got.total == exp.follower_total_at(account.id, end)
            growth = [exp.follower_total_at(account.id, d) for d in days(start, end)]
            assert [g.value for g in got.growth] == growth
            net = [c["gained"] - c["lost"] for c in in_range]
            assert [v.value for v in got.net_followers.daily] == net
            # The section's one statement answers what the three checked ones answer.
            section = await follower_queries.follower_section(conn, account.id, start, end)
            assert section.growth == got
            assert section.demographics == await follower_queries.demographics(conn, account.id)
            assert section.activity == await follower_queries.follower_activity(
                conn, account.id, start, end
            )
        await check_demographics(conn, account.id, exp)


async def check_demographics(conn: Connection, account: UUID, exp: Expected) -> None:
    got = await follower_queries.demographics(conn, account)
    total = len(exp.followers[account])
    assert got.followers == total
    if total < follower_queries.DEMOGRAPHICS_THRESHOLD:
        assert (got.gender, got.age_ranges, got.territories) == ([], [], [])
        return
    for shares, dimension in (
        (got.gender, "gender"), (got.age_ranges, "age_range"), (got.territories, "country")
    ):  # fmt: skip
        expected = exp.demographics(account, dimension)
        assert share_counts(list(shares)) == dict(expected)
        assert [s.ratio for s in shares] == [s.count / total for s in shares]
        assert [s.count for s in shares] == sorted((s.count for s in shares), reverse=True)


async def check_activity(conn: Connection, world: World, exp: Expected) -> None:
    for account in world.accounts:
        for start, end in spans(world):
            got = await follower_queries.follower_activity(conn, account.id, start, end)
            hours, weekdays = Counter[int](), Counter[int]()
            for (a, d, h), n in exp.activity.items():
                if a == account.id and start <= d <= end:
                    hours[h] += n
                    weekdays[d.isoweekday()] += n
            assert [(v.hour, v.value) for v in got.hours] == [(h, hours[h]) for h in range(24)]
            assert [(v.weekday, v.value) for v in got.days] == [
                (d, weekdays[d]) for d in range(1, 8)
            ]


def _assert_counts(got: videos.VideoCounts, want: Counts) -> None:
    for name in COUNT_FIELDS:
        attr = "completed_views" if name == "completed" else name
        assert getattr(got, attr) == getattr(want, name), name
    assert got.play_time_seconds == float(want.play_time)


async def check_video_analytics(conn: Connection, world: World, exp: Expected) -> None:
    ids = [v.id for v in world.videos]
    for start, end in [(None, None), *spans(world)[1:]]:
        got = await videos.video_analytics(conn, ids, start, end)
        assert set(got) == set(ids)
        for video in world.videos:
            analytics = got[video.id]
            first = start or video.published_at.astimezone(UTC).date()
            assert analytics.start == first
            for day in analytics.daily:
                _assert_counts(day.counts, exp.video_days.get((video.id, day.date)) or _zero())
            _assert_counts(analytics.totals, exp.video_range(video.id, first, analytics.end))
            check_dimensions(analytics, video.id, first, analytics.end, exp)
    lifetime = await videos.video_analytics(conn, ids)
    for video in world.videos:
        last_data = max(
            [d for (v, d) in exp.video_days if v == video.id],
            default=lifetime[video.id].start,
        )
        assert lifetime[video.id].end == max(last_data, lifetime[video.id].start)


def _zero() -> Counts:
    return Counts()


def check_dimensions(
    analytics: videos.VideoAnalytics, video: UUID, start: date, end: date, exp: Expected
) -> None:
    sources, terms = Counter[str](), Counter[str]()
    for d in days(start, end):
        sources.update(exp.sources.get((video, d), Counter()))
        terms.update(exp.terms.get((video, d), Counter()))
    assert share_counts(list(analytics.traffic_sources)) == dict(sources)
    assert share_counts(list(analytics.search_queries)) == dict(terms)
    assert analytics.reached_audience == exp.reach(video, start, end)
    duration = exp.videos[video].duration_seconds
    histogram = exp.retention_in(video, start, end)
    total = sum(histogram.values())
    want = [
        sum(n for s, n in histogram.items() if s >= second) / total if total else 0.0
        for second in range(math.ceil(duration) + 1)
    ]
    assert [p.ratio for p in analytics.retention] == want
    assert [p.second for p in analytics.retention] == list(range(math.ceil(duration) + 1))


async def check_account_viewers(conn: Connection, world: World, exp: Expected) -> None:
    for account in world.accounts:
        for start, end in spans(world):
            got = await viewer_queries.viewers(conn, account.id, start, end)
            assert (got.total, got.new) == exp.viewers_of(account.id, start, end)
            assert got.returning == got.total - got.new
            assert [(d.date, d.total, d.new) for d in got.daily] == [
                (d, *exp.viewers_of(account.id, d, d)) for d in days(start, end)
            ]


async def check_hourly(conn: Connection, world: World, exp: Expected) -> None:
    got = await hourly.video_hourly(conn, [v.id for v in world.videos])
    for video in world.videos:
        first = hour_of(video.published_at.astimezone(UTC))
        hours = [first + timedelta(hours=i) for i in range(48)]
        assert [h.hour for h in got[video.id]] == hours
        for entry in got[video.id]:
            _assert_counts(entry.counts, exp.video_hours.get((video.id, entry.hour)) or _zero())


async def check_alert_hours(conn: Connection, exp: Expected) -> None:
    """The alert rules' views per video and hour (the whole life, not only 48 hours)."""
    sql = f"SELECT video_id, hour, account_id, views FROM {live_schema('alerts')}.video_hours"
    got = {(r[0], r[1], r[2]): r[3] for r in await conn.fetch(sql)}
    assert got == dict(exp.view_hours)


async def check_content(conn: Connection, world: World, exp: Expected) -> None:
    ids = [v.id for v in world.videos]
    for start, end in spans(world):
        stats = await content.video_stats(conn, ids, start, end)
        week = end - timedelta(days=6)
        for video in world.videos:
            in_range = exp.video_range(video.id, start, end)
            got = stats[video.id]
            assert (got.views, got.likes, got.comments, got.shares) == (
                in_range.views, in_range.likes, in_range.comments, in_range.shares
            )  # fmt: skip
            assert got.views_gained_7d == exp.video_range(video.id, week, end).views
        for account in world.accounts:
            await check_trending(conn, world, exp, account.id, end)
            await check_posted(conn, world, account.id, start, end)
            # The section's one statement answers what the three checked ones answer.
            section = await content.content_section(conn, account.id, start, end)
            posted = await entity_queries.posted_videos(conn, account.id, start, end)
            ranked = await content.trending(conn, account.id, end)
            assert [v for v, _ in section.posted] == posted
            assert [v.id for v, _ in section.trending] == [v for v, _ in ranked]
            for entity, video_stats in section.posted + section.trending:
                assert video_stats == stats[entity.id]


async def check_trending(
    conn: Connection, world: World, exp: Expected, account: UUID, end: date
) -> None:
    week = end - timedelta(days=6)
    candidates = [
        v for v in world.videos
        if v.account_id == account and v.deleted_at is None
        and v.published_at.astimezone(UTC).date() <= end
    ]  # fmt: skip
    ranked = sorted(
        candidates,
        key=lambda v: (-exp.video_range(v.id, week, end).views, -v.published_at.timestamp(),
                       -v.id.int),
    )  # fmt: skip
    want = [(v.id, exp.video_range(v.id, week, end).views) for v in ranked[:9]]
    assert await content.trending(conn, account, end) == want


async def check_posted(
    conn: Connection, world: World, account: UUID, start: date, end: date
) -> None:
    posted = await entity_queries.posted_videos(conn, account, start, end)
    want = sorted(
        (v for v in world.videos if v.account_id == account and v.deleted_at is None
         and start <= v.published_at.astimezone(UTC).date() <= end),
        key=lambda v: (v.published_at, v.id), reverse=True,
    )  # fmt: skip
    assert [v.id for v in posted] == [v.id for v in want]


async def check_paging(conn: Connection, world: World) -> None:
    for account in world.accounts:
        seen, after = [], None
        while True:
            page = await entity_queries.account_videos(conn, account.id, first=7, after=after)
            seen += [v.id for v in page.videos]
            if not page.has_next_page:
                break
            after = page.end_cursor
        want = sorted(
            (v for v in world.videos if v.account_id == account.id and v.deleted_at is None),
            key=lambda v: (v.published_at, v.id), reverse=True,
        )  # fmt: skip
        assert seen == [v.id for v in want]


async def check_all(pool: asyncpg.Pool, world: World, exp: Expected) -> None:
    """Every read model against the oracle."""
    async with pool.acquire() as conn:
        await check_entities(conn, world)
        await check_overview(conn, world, exp)
        await check_followers(conn, world, exp)
        await check_activity(conn, world, exp)
        await check_video_analytics(conn, world, exp)
        await check_account_viewers(conn, world, exp)
        await check_hourly(conn, world, exp)
        await check_alert_hours(conn, exp)
        await check_content(conn, world, exp)
        await check_paging(conn, world)
