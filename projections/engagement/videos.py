"""Reading video analytics, batched: one statement per part for any number of videos.

Reads the ``engagement`` tables, ``video_reach`` (reached audience and retention)
and the per-video part of ``followers`` (new followers). Every number covers the
requested range (the whole life without one). While ``video_reach`` is rebuilt from
its version 1 (lifetime tables only), the old tables serve: reach and retention
then cover the whole life, as version 1 did.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from analytics_graph.projection import live_schema
from analytics_graph.types import Connection
from projections.readmodel import Share, check_range, days, shares

ENGAGEMENT = live_schema("engagement")
REACH_SCHEMA = live_schema("video_reach")
FOLLOWERS = live_schema("followers")
COUNTS = ("views", "play_time", "completed", "likes", "comments", "shares", "favorites")


@dataclass(frozen=True, slots=True)
class VideoCounts:
    """Engagement of a video over a span of time."""

    views: int = 0
    play_time_seconds: float = 0.0
    """Sum of watched seconds as sent (loops count)."""
    completed_views: int = 0
    likes: int = 0
    """Likes minus unlikes."""
    comments: int = 0
    shares: int = 0
    favorites: int = 0
    new_followers: int = 0
    """Follows through this video that made the user a follower."""


@dataclass(frozen=True, slots=True)
class VideoDay:
    """One UTC day of a video (its counts also read as its own attributes)."""

    date: date
    counts: VideoCounts

    @property
    def views(self) -> int:
        return self.counts.views

    @property
    def play_time_seconds(self) -> float:
        return self.counts.play_time_seconds

    @property
    def likes(self) -> int:
        return self.counts.likes

    @property
    def comments(self) -> int:
        return self.counts.comments

    @property
    def shares(self) -> int:
        return self.counts.shares

    @property
    def new_followers(self) -> int:
        return self.counts.new_followers


@dataclass(frozen=True, slots=True)
class VideoHour:
    """One UTC clock hour of a video's first 48."""

    hour: datetime
    counts: VideoCounts

    @property
    def views(self) -> int:
        return self.counts.views


@dataclass(frozen=True, slots=True)
class RetentionPoint:
    """``ratio``: the share of views whose watched time, capped at the length, is at
    least ``second`` seconds."""

    second: int
    ratio: float


@dataclass(frozen=True, slots=True)
class VideoAnalytics:
    """A video's analytics over ``start .. end`` (the whole life when asked without a
    range: publication day to the last day with engagement)."""

    start: date
    end: date
    totals: VideoCounts
    reached_audience: int
    """Distinct viewers with a view in the range (exact)."""
    traffic_sources: list[Share]
    """Views by traffic source in the range; ratio = count / views."""
    search_queries: list[Share]
    """Views by search term in the range; ratio = count / views with a search term."""
    retention: list[RetentionPoint]
    """Seconds 0 .. ceil(length), over the range's views."""
    daily: list[VideoDay]

    @property
    def average_watch_time_seconds(self) -> float:
        """Play time / views; 0 without views."""
        views = self.totals.views
        return self.totals.play_time_seconds / views if views else 0.0

    @property
    def engagement_rate(self) -> float:
        """(likes + comments + shares) / views; 0 without views."""
        views, t = self.totals.views, self.totals
        return (t.likes + t.comments + t.shares) / views if views else 0.0

    @property
    def watched_full_video_ratio(self) -> float:
        """Completed views / views; 0 without views."""
        views = self.totals.views
        return self.totals.completed_views / views if views else 0.0


def _counts(row: Any, new_followers: int = 0) -> VideoCounts:
    play = row["play_time"]
    return VideoCounts(
        views=row["views"],
        play_time_seconds=float(play) if isinstance(play, Decimal) else play,
        completed_views=row["completed"],
        likes=row["likes"],
        comments=row["comments"],
        shares=row["shares"],
        favorites=row["favorites"],
        new_followers=new_followers,
    )


# ``reach_version``: the live version of ``video_reach`` (which tables it has).
META_SQL = f"""
SELECT v.video_id, v.duration_seconds, v.published_at, coalesce(r.viewers, 0) AS reach,
       (SELECT version FROM projection_checkpoints WHERE name = 'video_reach' AND slot = 'live')
       AS reach_version
FROM {ENGAGEMENT}.videos v LEFT JOIN {REACH_SCHEMA}.video_reach r USING (video_id)
WHERE v.video_id = ANY($1::uuid[])
"""
RANGED_REACH_VERSION = 2
DAYS_SQL = f"""
SELECT video_id, day, {", ".join(COUNTS)} FROM {ENGAGEMENT}.video_days
WHERE video_id = ANY($1::uuid[]) AND ($2::date IS NULL OR day BETWEEN $2 AND $3)
"""
# Four small groupings in one statement (one round trip instead of four), told apart
# by ``part``: follows per day, views per traffic source, views per search term, and
# the retention histogram (views per whole second watched).
FOLLOWS, SOURCES, TERMS, RETENTION = 1, 2, 3, 4
PARTS_SQL = f"""
SELECT {FOLLOWS} AS part, video_id, (hour AT TIME ZONE 'UTC')::date AS day, NULL::text AS key,
       NULL::integer AS second, sum(new_followers)::bigint AS n
FROM {FOLLOWERS}.video_follow_hours
WHERE video_id = ANY($1::uuid[])
  AND ($2::date IS NULL OR (hour >= $2::timestamp AT TIME ZONE 'UTC'
                            AND hour < ($3::date + 1)::timestamp AT TIME ZONE 'UTC'))
GROUP BY 2, 3
UNION ALL
SELECT {SOURCES}, video_id, NULL, source, NULL, sum(views)::bigint
FROM {ENGAGEMENT}.video_sources
WHERE video_id = ANY($1::uuid[]) AND ($2::date IS NULL OR day BETWEEN $2 AND $3)
GROUP BY 2, 4
UNION ALL
SELECT {TERMS}, video_id, NULL, term, NULL, sum(views)::bigint
FROM {ENGAGEMENT}.video_search_terms
WHERE video_id = ANY($1::uuid[]) AND ($2::date IS NULL OR day BETWEEN $2 AND $3)
GROUP BY 2, 4
"""
# Lifetime reach comes with META_SQL; retention from the lifetime histogram.
LIFETIME_PARTS_SQL = f"""{PARTS_SQL}
UNION ALL
SELECT {RETENTION}, video_id, NULL, NULL, second, views::bigint
FROM {ENGAGEMENT}.video_retention
WHERE video_id = ANY($1::uuid[])
"""
# Over a range: retention from the range's daily histograms, reach from the audience
# histograms (``projections.audience``: viewers whose first day in the range it is).
REACH = 5
RANGED_PARTS_SQL = f"""{PARTS_SQL}
UNION ALL
SELECT {RETENTION}, video_id, NULL, NULL, second, sum(views)::bigint
FROM {REACH_SCHEMA}.video_retention_days
WHERE video_id = ANY($1::uuid[]) AND day BETWEEN $2 AND $3
GROUP BY 2, 5
UNION ALL
SELECT {REACH}, video_id, NULL, NULL, NULL, sum(members)::bigint
FROM {REACH_SCHEMA}.video_viewer_gaps
WHERE video_id = ANY($1::uuid[]) AND day BETWEEN $2 AND $3 AND (gap = 0 OR gap > day - $2)
GROUP BY 2
"""


def _total(rows: list[Any], followed: dict[date, int], first: date, last: date) -> VideoCounts:
    """Sums day rows, play time exactly (numeric) before the one conversion to float."""
    return VideoCounts(
        views=sum(r["views"] for r in rows),
        play_time_seconds=float(sum((r["play_time"] for r in rows), Decimal(0))),
        completed_views=sum(r["completed"] for r in rows),
        likes=sum(r["likes"] for r in rows),
        comments=sum(r["comments"] for r in rows),
        shares=sum(r["shares"] for r in rows),
        favorites=sum(r["favorites"] for r in rows),
        new_followers=sum(n for d, n in followed.items() if first <= d <= last),
    )


async def _parts(
    conn: Connection, ids: list[UUID], start: date | None, end: date | None, ranged: bool
) -> dict[int, dict[UUID, dict[Any, int]]]:
    """The parts' rows: part -> video -> (day, source, term, second or None) -> count;
    ``ranged``: retention and reach over the range (else over the whole life)."""
    out: dict[int, dict[UUID, dict[Any, int]]] = {
        part: defaultdict(dict) for part in (FOLLOWS, SOURCES, TERMS, RETENTION, REACH)
    }
    sql = RANGED_PARTS_SQL if ranged else LIFETIME_PARTS_SQL
    for part, video_id, day, key, second, n in await conn.fetch(sql, ids, start, end):
        out[part][video_id][day if part == FOLLOWS else second if part == RETENTION else key] = n
    return out


def retention_points(histogram: dict[int, int], duration: float) -> list[RetentionPoint]:
    """Points 0 .. ceil(duration) from views per whole second watched (capped)."""
    total = sum(histogram.values())
    points, remaining = [], total
    for second in range(math.ceil(duration) + 1):
        points.append(RetentionPoint(second, remaining / total if total else 0.0))
        remaining -= histogram.get(second, 0)
    return points


async def video_analytics(
    conn: Connection,
    video_ids: Sequence[UUID],
    start: date | None = None,
    end: date | None = None,
) -> dict[UUID, VideoAnalytics]:
    """Analytics of each published video among ``video_ids`` over ``start .. end``, or
    over its whole life when both are ``None``. Three statements whatever the count.
    Raises ``ValueError`` for a half-given or reversed range."""
    if (start is None) != (end is None):
        raise ValueError("give both start and end, or neither")
    if start is not None and end is not None:
        check_range(start, end)
    ids, span = list(video_ids), (start, end)
    meta = {r["video_id"]: r for r in await conn.fetch(META_SQL, ids)}
    day_rows: dict[UUID, dict[date, Any]] = defaultdict(dict)
    for row in await conn.fetch(DAYS_SQL, ids, *span):
        day_rows[row["video_id"]][row["day"]] = row
    versions = {r["reach_version"] or 0 for r in meta.values()}
    ranged = start is not None and min(versions, default=0) >= RANGED_REACH_VERSION
    parts = await _parts(conn, ids, *span, ranged)
    follows, sources, terms = parts[FOLLOWS], parts[SOURCES], parts[TERMS]
    retention, reach = parts[RETENTION], parts[REACH]
    result = {}
    for video_id, info in meta.items():
        rows, followed = day_rows.get(video_id, {}), follows.get(video_id, {})
        first = start or info["published_at"].astimezone(UTC).date()
        last = end or max([first, *rows, *followed])
        daily = [
            VideoDay(d, _counts(rows[d], followed.get(d, 0)) if d in rows else
                     VideoCounts(new_followers=followed.get(d, 0)))
            for d in days(first, last)
        ]  # fmt: skip
        totals = _total([rows[d] for d in rows if first <= d <= last], followed, first, last)
        searched = sum(terms.get(video_id, {}).values())
        result[video_id] = VideoAnalytics(
            start=first,
            end=last,
            totals=totals,
            reached_audience=reach.get(video_id, {}).get(None, 0) if ranged else info["reach"],
            traffic_sources=shares(sources.get(video_id, {}).items(), totals.views),
            search_queries=shares(terms.get(video_id, {}).items(), searched),
            retention=retention_points(retention.get(video_id, {}), info["duration_seconds"]),
            daily=daily,
        )
    return result


def nothing_yet(
    published_at: datetime, duration_seconds: float, start: date | None, end: date | None
) -> VideoAnalytics:
    """Zeros, for a video this read model has not seen yet (published a moment ago: the
    engagement projection is a batch behind the one listing videos); over ``start ..
    end``, or the publication day when no range is given."""
    first = start if start is not None else published_at.astimezone(UTC).date()
    last = end if end is not None else first
    return VideoAnalytics(
        start=first,
        end=last,
        totals=VideoCounts(),
        reached_audience=0,
        traffic_sources=[],
        search_queries=[],
        retention=retention_points({}, duration_seconds),
        daily=[VideoDay(d, VideoCounts()) for d in days(first, last)],
    )
