"""The limit for bench/graphql.py: a hand-written Starlette + asyncpg endpoint.

``POST /dashboard`` and ``POST /video`` take the GraphQL queries' variables as
their JSON body and answer exactly the JSON the GraphQL API answers for
``bench.graphql.DASHBOARD`` / ``VIDEO``, through the same read-model queries
(the same SQL), on one pooled connection per request, with no GraphQL, no
access checks beyond the Pro check, and no answer cache.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_graph.database import create_pool
from analytics_graph.types import Connection
from projections import freshness, readmodel
from projections.account_viewers import queries as account_viewers
from projections.engagement import accounts as engagement
from projections.engagement import comparison, content, hourly, videos
from projections.entities import queries as entities
from projections.followers import queries as followers


def _metric(m: readmodel.Metric) -> dict[str, Any]:
    return {
        "total": m.total,
        "previousTotal": m.previous_total,
        "changeRatio": m.change_ratio,
        "daily": [{"date": d.date.isoformat(), "value": d.value} for d in m.daily],
    }


def _shares(shares: list[readmodel.Share]) -> list[dict[str, Any]]:
    return [{"key": s.key, "count": s.count, "ratio": s.ratio} for s in shares]


def _stats(video: entities.VideoEntity, stats: content.VideoStats) -> dict[str, Any]:
    return {
        "video": {
            "id": str(video.id),
            "caption": video.caption,
            "publishedAt": video.published_at.isoformat(),
        },
        "views": stats.views,
        "likes": stats.likes,
        "comments": stats.comments,
        "shares": stats.shares,
        "viewsGained7d": stats.views_gained_7d,
    }


async def _content(conn: Connection, account_id: UUID, start: date, end: date) -> dict[str, Any]:
    section = await content.content_section(conn, account_id, start, end)
    return {
        "postedVideos": [_stats(v, s) for v, s in section.posted],
        "trendingVideos": [_stats(v, s) for v, s in section.trending],
    }


def _followers(section: followers.FollowerSection) -> dict[str, Any]:
    growth, people, activity = section.growth, section.demographics, section.activity
    return {
        "total": growth.total,
        "gained": growth.gained,
        "lost": growth.lost,
        "netChange": growth.net_change,
        "growth": [{"date": d.date.isoformat(), "value": d.value} for d in growth.growth],
        "gender": _shares(people.gender),
        "ageRanges": _shares(people.age_ranges),
        "topTerritories": _shares(people.territories[:5]),
        "activeHours": [{"hour": h.hour, "value": h.value} for h in activity.hours],
        "activeDays": [{"weekday": d.weekday, "value": d.value} for d in activity.days],
    }


async def dashboard(conn: Connection, variables: dict[str, Any]) -> dict[str, Any]:
    account_id = UUID(variables["id"])
    custom = variables["range"]["custom"]
    start, end = date.fromisoformat(custom["start"]), date.fromisoformat(custom["end"])
    account = (await entities.accounts(conn, [account_id]))[account_id]
    counts = await followers.follower_counts(conn, [account_id])
    overview = await engagement.overview(conn, account_id, start, end)
    people = await followers.follower_section(conn, account_id, start, end)
    analytics = {
        "range": {"start": start.isoformat(), "end": end.isoformat()},
        "overview": {
            "videoViews": _metric(overview.video_views),
            "profileViews": _metric(overview.profile_views),
            "likes": _metric(overview.likes),
            "comments": _metric(overview.comments),
            "shares": _metric(overview.shares),
            "netFollowers": _metric(people.growth.net_followers),
        },
        "content": await _content(conn, account_id, start, end),
        "followers": _followers(people),
    }
    return {
        "account": {
            "handle": account.handle,
            "followerCount": counts[account_id],
            "analytics": analytics,
        }
    }


def _day(day: videos.VideoDay) -> dict[str, Any]:
    c = day.counts
    return {
        "date": day.date.isoformat(),
        "views": c.views,
        "playTimeSeconds": c.play_time_seconds,
        "likes": c.likes,
        "comments": c.comments,
        "shares": c.shares,
        "newFollowers": c.new_followers,
    }


READ_MODELS = ("entities", "engagement", "video_reach", "followers", "account_viewers")


async def dashboard_viewers(conn: Connection, variables: dict[str, Any]) -> dict[str, Any]:
    """The dashboard with the Viewers section and ``asOf`` (keys in the query's order)."""
    answer = await dashboard(conn, variables)
    custom = variables["range"]["custom"]
    start, end = date.fromisoformat(custom["start"]), date.fromisoformat(custom["end"])
    found = await account_viewers.viewers(conn, UUID(variables["id"]), start, end)
    fresh = await freshness.freshness(conn, READ_MODELS)
    analytics = answer["account"]["analytics"]
    answer["account"]["analytics"] = {
        "range": analytics.pop("range"),
        "viewers": {
            "total": found.total, "new": found.new, "returning": found.returning,
            "daily": [{"date": d.date.isoformat(), "total": d.total, "new": d.new}
                      for d in found.daily],
        },
        "asOf": {"position": fresh.position, "recordedAt":
                 fresh.recorded_at.isoformat() if fresh.recorded_at else None},
        **analytics,
    }  # fmt: skip
    return answer


async def video_comparison(conn: Connection, variables: dict[str, Any]) -> dict[str, Any]:
    account_id = UUID(variables["id"])
    owner = (await entities.accounts(conn, [account_id]))[account_id]
    assert owner.is_pro
    ids = [UUID(v) for v in variables["videos"]]
    found = await comparison.video_comparison(
        conn, account_id, ids, variables["days"], datetime.now(UTC).date()
    )
    hours = await hourly.video_hourly(conn, ids)

    def cumulative(video_id: UUID) -> list[int]:
        out, running = [], 0
        for h in hours[video_id]:
            running += h.counts.views
            out.append(running)
        return out

    return {"account": {"videoComparison": {
        "videos": [{"video": {"id": str(c.video.id)}, "cumulativeViews": c.cumulative_views,
                    "percentile": c.percentile, "hourly": cumulative(c.video.id)}
                   for c in found.videos],
        "median": found.median,
    }}}  # fmt: skip


async def video(conn: Connection, variables: dict[str, Any]) -> dict[str, Any]:
    video_id = UUID(variables["id"])
    entity = (await entities.videos(conn, [video_id]))[video_id]
    owner = (await entities.accounts(conn, [entity.account_id]))[entity.account_id]
    assert owner.is_pro
    span: tuple[date, date] | tuple[()] = ()
    if variables.get("range"):
        custom = variables["range"]["custom"]
        span = (date.fromisoformat(custom["start"]), date.fromisoformat(custom["end"]))
    a = (await videos.video_analytics(conn, [video_id], *span))[video_id]
    hours = (await hourly.video_hourly(conn, [video_id]))[video_id]
    t = a.totals
    return {
        "video": {
            "id": str(entity.id),
            "caption": entity.caption,
            "durationSeconds": entity.duration_seconds,
            "publishedAt": entity.published_at.isoformat(),
            "analytics": {
                "views": t.views,
                "likes": t.likes,
                "comments": t.comments,
                "shares": t.shares,
                "favorites": t.favorites,
                "totalPlayTimeSeconds": t.play_time_seconds,
                "averageWatchTimeSeconds": a.average_watch_time_seconds,
                "watchedFullVideoRatio": a.watched_full_video_ratio,
                "newFollowers": t.new_followers,
                "reachedAudience": a.reached_audience,
                **({"engagementRate": a.engagement_rate} if span else {}),
                "trafficSources": _shares(a.traffic_sources),
                "searchQueries": _shares(a.search_queries[:10]),
                "retention": [{"second": p.second, "ratio": p.ratio} for p in a.retention],
                "daily": [_day(d) for d in a.daily],
                "hourly": [{"hour": h.hour.isoformat(), "views": h.counts.views} for h in hours],
            },
        }
    }


def create_baseline_app(url: str) -> Starlette:
    """The baseline app on the database at ``url``."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await create_pool(url, min_size=2, max_size=10)
        try:
            yield
        finally:
            await app.state.pool.close()

    def endpoint(answer: Any) -> Any:
        async def handle(request: Request) -> Response:
            variables = orjson.loads(await request.body())
            async with request.app.state.pool.acquire() as conn:
                data = await answer(conn, variables)
            return Response(orjson.dumps({"data": data}), media_type="application/json")

        return handle

    async def healthz(request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(
        routes=[
            Route("/dashboard", endpoint(dashboard), methods=["POST"]),
            Route("/video", endpoint(video), methods=["POST"]),
            Route("/viewers", endpoint(dashboard_viewers), methods=["POST"]),
            Route("/video28", endpoint(video), methods=["POST"]),
            Route("/compare", endpoint(video_comparison), methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
