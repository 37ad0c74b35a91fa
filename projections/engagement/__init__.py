"""Engagement rollups: per account per day, and per video per day, per hour of its
first 48 hours, per traffic source, per search term, per second watched.
(Reach is the ``video_reach`` projection; followers are ``followers``.)

Tables (in ``rm_engagement``):

* ``account_days`` (account, UTC day): views of its videos, profile views, likes
  (like minus unlike), comments, shares;
* ``videos``: what the batch SQL needs to know of each video (owner, length,
  publication time), from ``Video.Published``;
* ``video_days`` (video, UTC day): views, play time, completed views, likes (net),
  comments, shares, favorites; also keyed by account and day for trending;
* ``video_hours`` (video, UTC clock hour): the same counts, only for the 48 clock
  hours starting at the hour of publication;
* ``video_sources`` (video, day, traffic source) and ``video_search_terms``
  (video, day, term): view counts;
* ``video_retention`` (video, second): views whose watched time capped at the
  length, rounded down, is that second (retention is its suffix sum).

Applied set-based: one statement reads the batch's engagement rows once
(a materialised CTE with typed columns) and upserts every rollup from it.
"""

from __future__ import annotations

from analytics_graph.domain.aggregates import Video
from analytics_graph.projection import Batch, Changes, Projection
from analytics_graph.projection.aggregates import aggregate_events, topic
from analytics_graph.projection.tables import qualify
from analytics_graph.types import Connection
from projections.engagement.sql import DDL, ENGAGEMENT, ENGAGEMENT_TYPES

NAME = "engagement"
PUBLISHED_TOPIC = topic(Video, "Published")
HANDLES = frozenset((PUBLISHED_TOPIC, *ENGAGEMENT_TYPES))

PUBLISHED = """
INSERT INTO {schema}.videos (video_id, account_id, duration_seconds, published_at)
VALUES ($1, $2, $3, $4) ON CONFLICT (video_id) DO NOTHING
"""


async def apply(conn: Connection, batch: Batch) -> Changes:
    """Records the batch's new videos, then folds its engagement into every rollup."""
    published = await aggregate_events(conn, batch, [PUBLISHED_TOPIC])
    if published:
        await conn.executemany(
            qualify(PUBLISHED, batch.schema),
            [
                (e.originator_id, e.account_id, e.duration_seconds, e.published_at)
                for _, e in published
            ],
        )
    # The planner cannot estimate the batch CTE and would sort tens of thousands of
    # rows to group them; hashing is several times faster here.
    await conn.execute("SET LOCAL enable_sort = off")
    rows = await conn.fetch(
        qualify(ENGAGEMENT, batch.schema), batch.after, batch.upto, sorted(ENGAGEMENT_TYPES)
    )
    return Changes().add(accounts=(r["account_id"] for r in rows), videos=(r[0] for r in rows))


PROJECTION = Projection(
    name=NAME,
    version=1,
    handles=HANDLES,
    ddl=DDL,
    apply=apply,
    description="per account per day; per video per day and hour, sources, terms, retention",
)
