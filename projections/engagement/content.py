"""Reading what the Content section lists: per-video counts in a range, and trending."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from analytics_graph.projection import live_schema
from analytics_graph.types import Connection
from projections.engagement.videos import ENGAGEMENT
from projections.readmodel import check_range

ENTITIES = live_schema("entities")
TRENDING_DAYS = 7
TRENDING_COUNT = 9


@dataclass(frozen=True, slots=True)
class VideoStats:
    """A video's counts inside a range, and its views on the 7 days ending at the
    range's end (``views_gained_7d``). ``likes`` is likes minus unlikes."""

    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    views_gained_7d: int = 0


STATS_SQL = f"""
SELECT video_id,
       sum(views) FILTER (WHERE day >= $2::date) AS views,
       sum(likes) FILTER (WHERE day >= $2) AS likes,
       sum(comments) FILTER (WHERE day >= $2) AS comments,
       sum(shares) FILTER (WHERE day >= $2) AS shares,
       sum(views) FILTER (WHERE day >= $4) AS views_gained_7d
FROM {ENGAGEMENT}.video_days
WHERE video_id = ANY($1::uuid[]) AND day >= least($2::date, $4::date) AND day <= $3::date
GROUP BY video_id
"""


async def video_stats(
    conn: Connection, video_ids: Sequence[UUID], start: date, end: date
) -> dict[UUID, VideoStats]:
    """:class:`VideoStats` over ``start .. end`` for every id in ``video_ids`` (zeros
    for a video without engagement); one statement."""
    check_range(start, end)
    week_start = end - timedelta(days=TRENDING_DAYS - 1)
    rows = await conn.fetch(STATS_SQL, list(video_ids), start, end, week_start)
    found = {r["video_id"]: VideoStats(*(int(r[k] or 0) for k in list(r.keys())[1:])) for r in rows}
    return {v: found.get(v, VideoStats()) for v in video_ids}


TRENDING_SQL = f"""
SELECT v.video_id, coalesce(sum(d.views), 0) AS views
FROM {ENTITIES}.videos v
LEFT JOIN {ENGAGEMENT}.video_days d
       ON d.video_id = v.video_id AND d.day BETWEEN $3::date AND $2::date
WHERE v.account_id = $1 AND NOT v.deleted
  AND v.published_at < ($2::date + 1)::timestamp AT TIME ZONE 'UTC'
GROUP BY v.video_id, v.published_at
ORDER BY views DESC, v.published_at DESC, v.video_id DESC
LIMIT $4
"""


async def trending(
    conn: Connection, account_id: UUID, end: date, limit: int = TRENDING_COUNT
) -> list[tuple[UUID, int]]:
    """The account's top ``limit`` videos by views whose day is in the 7 days ending
    at ``end``, as ``(video id, views)``; ties by newer publication first (then by
    larger id). Candidates: the account's non-deleted videos published on or before
    ``end`` (so a video without views in the window can rank, below all with views)."""
    week_start = end - timedelta(days=TRENDING_DAYS - 1)
    rows = await conn.fetch(TRENDING_SQL, account_id, end, week_start, limit)
    return [(r["video_id"], int(r["views"])) for r in rows]
