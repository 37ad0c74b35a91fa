"""Reading what the Content section lists: per-video counts in a range, and trending."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from analytics_graph.projection import live_schema
from analytics_graph.types import Connection
from projections.engagement.videos import ENGAGEMENT
from projections.entities.queries import POSTED_WHERE, VIDEO_COLUMNS, VideoEntity, video_of
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

    @property
    def engagement_rate(self) -> float:
        """(likes + comments + shares) / views in the range; 0 without views."""
        return (self.likes + self.comments + self.shares) / self.views if self.views else 0.0


# The placeholders name the statement's parameters (``$n``), or for `ids` a list.
STATS = f"""
SELECT video_id,
       sum(views) FILTER (WHERE day >= {{start}}::date) AS views,
       sum(likes) FILTER (WHERE day >= {{start}}::date) AS likes,
       sum(comments) FILTER (WHERE day >= {{start}}::date) AS comments,
       sum(shares) FILTER (WHERE day >= {{start}}::date) AS shares,
       sum(views) FILTER (WHERE day >= {{week_start}}::date) AS views_gained_7d
FROM {ENGAGEMENT}.video_days
WHERE video_id {{ids}} AND day >= least({{start}}::date, {{week_start}}::date)
  AND day <= {{end}}::date
GROUP BY video_id
"""
STATS_SQL = STATS.format(ids="= ANY($1::uuid[])", start="$2", end="$3", week_start="$4")
STATS_COLUMNS = ("views", "likes", "comments", "shares", "views_gained_7d")


async def video_stats(
    conn: Connection, video_ids: Sequence[UUID], start: date, end: date
) -> dict[UUID, VideoStats]:
    """:class:`VideoStats` over ``start .. end`` for every id in ``video_ids`` (zeros
    for a video without engagement); one statement."""
    check_range(start, end)
    week_start = end - timedelta(days=TRENDING_DAYS - 1)
    rows = await conn.fetch(STATS_SQL, list(video_ids), start, end, week_start)
    found = {r["video_id"]: _stats(r[k] for k in STATS_COLUMNS) for r in rows}
    return {v: found.get(v, VideoStats()) for v in video_ids}


def _stats(values: Iterable[int | None]) -> VideoStats:
    return VideoStats(*(int(v or 0) for v in values))


TRENDING = f"""
SELECT v.video_id, coalesce(sum(d.views), 0) AS views
FROM {ENTITIES}.videos v
LEFT JOIN {ENGAGEMENT}.video_days d
       ON d.video_id = v.video_id AND d.day BETWEEN {{week_start}}::date AND {{end}}::date
WHERE v.account_id = {{account}} AND NOT v.deleted
  AND v.published_at < ({{end}}::date + 1)::timestamp AT TIME ZONE 'UTC'
GROUP BY v.video_id, v.published_at
ORDER BY views DESC, v.published_at DESC, v.video_id DESC
LIMIT {{limit}}
"""
TRENDING_SQL = TRENDING.format(account="$1", end="$2", week_start="$3", limit="$4")


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


@dataclass(frozen=True, slots=True)
class ContentSection:
    """What the Content section lists, each video with its :class:`VideoStats` in the
    range: ``posted`` as :func:`~projections.entities.queries.posted_videos` lists
    them, ``trending`` as :func:`trending` ranks them."""

    posted: list[tuple[VideoEntity, VideoStats]]
    trending: list[tuple[VideoEntity, VideoStats]]


# posted_videos, trending and video_stats over both lists, as one statement.
SECTION_SQL = f"""
WITH posted AS (
    SELECT video_id FROM {ENTITIES}.videos
    WHERE {POSTED_WHERE.format(account="$1", start="$2", end="$3")}
),
trending AS ({TRENDING.format(account="$1", end="$3", week_start="$4", limit="$5")}),
listed AS (
    SELECT 1 AS list, video_id, 0::bigint AS week_views FROM posted
    UNION ALL
    SELECT 2, video_id, views FROM trending
),
stats AS (
    {STATS.format(ids="IN (SELECT video_id FROM listed)", start="$2", end="$3", week_start="$4")}
)
SELECT l.list, {", ".join(f"v.{c}" for c in VIDEO_COLUMNS.split(", "))},
       {", ".join(f"s.{c}" for c in STATS_COLUMNS)}
FROM listed l
JOIN {ENTITIES}.videos v USING (video_id)
LEFT JOIN stats s USING (video_id)
ORDER BY l.list, l.week_views DESC, v.published_at DESC, v.video_id DESC
"""
VIDEO_WIDTH = len(VIDEO_COLUMNS.split(", "))


async def content_section(
    conn: Connection, account_id: UUID, start: date, end: date, limit: int = TRENDING_COUNT
) -> ContentSection:
    """The videos posted in ``start .. end`` and the top ``limit`` trending at ``end``,
    with their counts in the range; one statement."""
    check_range(start, end)
    week_start = end - timedelta(days=TRENDING_DAYS - 1)
    rows = await conn.fetch(SECTION_SQL, account_id, start, end, week_start, limit)
    lists: dict[int, list[tuple[VideoEntity, VideoStats]]] = {1: [], 2: []}
    for row in rows:
        values = tuple(row.values())
        entity = video_of(values[1 : 1 + VIDEO_WIDTH])
        lists[row["list"]].append((entity, _stats(values[1 + VIDEO_WIDTH :])))
    return ContentSection(posted=lists[1], trending=lists[2])
