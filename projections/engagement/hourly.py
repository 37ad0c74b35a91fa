"""Reading the first 48 hours of videos, batched (one statement for any number)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from analytics_graph.types import Connection
from projections.engagement.videos import COUNTS, ENGAGEMENT, FOLLOWERS, VideoCounts, VideoHour

FIRST_HOURS = 48

# One row per (video, stored hour), plus the video's first hour even when empty.
HOURS_SQL = f"""
WITH v AS (
    SELECT video_id, date_trunc('hour', published_at, 'UTC') AS first_hour
    FROM {ENGAGEMENT}.videos WHERE video_id = ANY($1::uuid[])
),
h AS (SELECT * FROM {ENGAGEMENT}.video_hours WHERE video_id = ANY($1::uuid[])),
f AS (
    SELECT fh.video_id, fh.hour, fh.new_followers
    FROM {FOLLOWERS}.video_follow_hours fh JOIN v USING (video_id)
    WHERE fh.hour >= v.first_hour AND fh.hour < v.first_hour + interval '{FIRST_HOURS} hours'
),
hf AS (
    SELECT video_id, hour, {", ".join(f"coalesce(h.{c}, 0) AS {c}" for c in COUNTS)},
           coalesce(f.new_followers, 0) AS new_followers
    FROM h FULL JOIN f USING (video_id, hour)
)
SELECT video_id, first_hour, hour, {", ".join(COUNTS)}, new_followers
FROM v LEFT JOIN hf USING (video_id)
"""


def _counts(row: Any) -> VideoCounts:
    return VideoCounts(
        views=row["views"],
        play_time_seconds=float(row["play_time"]),
        completed_views=row["completed"],
        likes=row["likes"],
        comments=row["comments"],
        shares=row["shares"],
        favorites=row["favorites"],
        new_followers=row["new_followers"],
    )


async def video_hourly(conn: Connection, video_ids: Sequence[UUID]) -> dict[UUID, list[VideoHour]]:
    """For each published video among ``video_ids``: 48 entries, one per UTC clock
    hour starting at the hour of publication, zero-filled."""
    first: dict[UUID, datetime] = {}
    found: dict[UUID, dict[datetime, VideoCounts]] = {}
    for row in await conn.fetch(HOURS_SQL, list(video_ids)):
        first[row["video_id"]] = row["first_hour"]
        if row["hour"] is not None:
            found.setdefault(row["video_id"], {})[row["hour"]] = _counts(row)
    result = {}
    for video_id, start in first.items():
        hours = [start + timedelta(hours=i) for i in range(FIRST_HOURS)]
        stored = found.get(video_id, {})
        result[video_id] = [VideoHour(h, stored.get(h, VideoCounts())) for h in hours]
    return result
