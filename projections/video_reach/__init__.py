"""Reach: the distinct viewers of each video over its lifetime, counted exactly.

``video_viewers`` holds each (video, viewer) pair once; ``video_reach`` counts
them per video, incremented by the pairs each batch adds, so reading reach costs
one row. Exact, not a sketch: every pair is stored.

A projection of its own (rather than part of ``video_stats``) because keeping the
pairs is the costliest fold of all: on its own it runs beside the others, on
another core, during a replay.
"""

from __future__ import annotations

from analytics_graph.projection import Batch, Changes, Projection
from analytics_graph.projection.tables import qualify
from analytics_graph.types import Connection

NAME = "video_reach"
HANDLES = frozenset(("view",))

DDL = """
CREATE TABLE {schema}.video_viewers (
    video_id  uuid NOT NULL,
    viewer_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (video_id, viewer_id)
);
CREATE TABLE {schema}.video_reach (
    video_id uuid   PRIMARY KEY,
    viewers  bigint NOT NULL
);
"""

# Distinct pairs first, then a plain insert of those not stored yet: cheaper than
# ON CONFLICT, and safe because the checkpoint's row lock keeps other writers out.
# The pairs are sorted in the index's order (uuid first: 16 bytes to compare, not
# 36), so the probes and inserts walk the index instead of jumping about in it:
# measured on a 1M-event replay, 2.5 s against 3.05 s hashed.
APPLY = """
WITH pairs AS (
    SELECT DISTINCT stream_id::uuid AS vid, (data->>'viewerId') COLLATE "C" AS viewer
    FROM events WHERE position > $1 AND position <= $2 AND type = 'view'
),
added AS (
    INSERT INTO {schema}.video_viewers (video_id, viewer_id)
    SELECT vid, viewer FROM pairs p
    WHERE NOT EXISTS (
        SELECT 1 FROM {schema}.video_viewers w
        WHERE w.video_id = p.vid AND w.viewer_id = p.viewer
    )
    RETURNING video_id
),
counted AS (
    INSERT INTO {schema}.video_reach AS t (video_id, viewers)
    SELECT video_id, count(*) FROM added GROUP BY 1
    ON CONFLICT (video_id) DO UPDATE SET viewers = t.viewers + EXCLUDED.viewers
    RETURNING video_id
)
SELECT video_id FROM counted
"""


async def apply(conn: Connection, batch: Batch) -> Changes:
    """Stores the batch's new (video, viewer) pairs and counts them per video."""
    rows = await conn.fetch(qualify(APPLY, batch.schema), batch.after, batch.upto)
    return Changes().add(videos=(r[0] for r in rows))


PROJECTION = Projection(
    name=NAME,
    version=1,
    handles=HANDLES,
    ddl=DDL,
    apply=apply,
    description="per video: distinct viewers (exact)",
)
