"""Comparing an account's videos aligned by age: cumulative views on day k after
publication (day 0 is the publication's UTC day), against the account's other videos."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from uuid import UUID

from analytics_graph.types import Connection
from projections.engagement.content import ENTITIES
from projections.engagement.videos import ENGAGEMENT
from projections.entities.queries import VIDEO_COLUMNS, VideoEntity, video_of

MIN_PEERS = 3
"""Below this many peers old enough, a day's percentile is not given."""


@dataclass(frozen=True, slots=True)
class ComparedVideo:
    """``cumulative_views[k]``: views from publication to the end of day k (k = 0 ..
    days - 1, stopping at today); ``percentile[k]``: the share (0 .. 1) of the
    account's other non-deleted videos whose day k has ended whose cumulative views
    at day k are below this video's; ``None`` with fewer than 3 such videos."""

    video: VideoEntity
    cumulative_views: list[int]
    percentile: list[float | None]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The compared videos in the order asked, and ``median[k]``: the median cumulative
    views at day k of the account's non-deleted videos whose day k has ended
    (``None`` when none has)."""

    videos: list[ComparedVideo]
    median: list[float | None]


# One row per video of the account (not deleted, or compared): its columns and its
# views by age in days, for ages 0 .. $3 - 1 (O(videos x days) rows read).
SQL = f"""
SELECT {", ".join(f"v.{c}" for c in VIDEO_COLUMNS.split(", "))},
       v.video_id = ANY($2::uuid[]) AS compared,
       array_remove(array_agg(d.day - (v.published_at AT TIME ZONE 'UTC')::date), NULL) AS ages,
       array_remove(array_agg(d.views), NULL) AS views
FROM {ENTITIES}.videos v
LEFT JOIN {ENGAGEMENT}.video_days d
       ON d.video_id = v.video_id
      AND d.day BETWEEN (v.published_at AT TIME ZONE 'UTC')::date
                    AND (v.published_at AT TIME ZONE 'UTC')::date + ($3::integer - 1)
WHERE v.account_id = $1 AND (NOT v.deleted OR v.video_id = ANY($2::uuid[]))
GROUP BY v.video_id
"""
WIDTH = len(VIDEO_COLUMNS.split(", "))


def _cumulative(ages: list[int], views: list[int], length: int) -> list[int]:
    per_age = [0] * length
    for age, n in zip(ages, views, strict=True):
        per_age[age] += n
    out, running = [], 0
    for n in per_age:
        running += n
        out.append(running)
    return out


def _ended(published: date, k: int, today: date) -> bool:
    return (published - today).days + k < 0


async def video_comparison(
    conn: Connection, account_id: UUID, video_ids: Sequence[UUID], days: int, today: date
) -> Comparison:
    """Compares ``video_ids`` (the account's own; raises ``LookupError`` naming the first
    that is not one of its videos) over ``days`` days of age; one statement."""
    rows = await conn.fetch(SQL, account_id, list(video_ids), days)
    entities: dict[UUID, VideoEntity] = {}
    curves: dict[UUID, list[int]] = {}
    peers: list[UUID] = []
    for row in rows:
        values = tuple(row.values())
        entity = video_of(values[:WIDTH])
        entities[entity.id] = entity
        curves[entity.id] = _cumulative(row["ages"], row["views"], days)
        if not entity.deleted:
            peers.append(entity.id)
    missing = [v for v in video_ids if v not in entities]
    if missing:
        raise LookupError(missing[0])
    published = {v: e.published_at.astimezone(UTC).date() for v, e in entities.items()}
    old_enough = [[p for p in peers if _ended(published[p], k, today)] for k in range(days)]
    median = [
        float(statistics.median(curves[p][k] for p in ready)) if ready else None
        for k, ready in enumerate(old_enough)
    ]
    compared = []
    for video_id in video_ids:
        shown = max(0, min(days, (today - published[video_id]).days + 1))
        curve = curves[video_id][:shown]
        percentile: list[float | None] = []
        for k, value in enumerate(curve):
            others = [curves[p][k] for p in old_enough[k] if p != video_id]
            below = sum(1 for n in others if n < value)
            percentile.append(below / len(others) if len(others) >= MIN_PEERS else None)
        compared.append(ComparedVideo(entities[video_id], curve, percentile))
    return Comparison(compared, median)
