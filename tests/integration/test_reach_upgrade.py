"""Upgrading ``video_reach`` from version 1 (lifetime pairs) to 2 (per-day audience and
retention): the version-1 tables keep answering while version 2 is built from
position 0, then the swap brings ranged reach and retention."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

import projections
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.formats import VIEWER_ID
from analytics_graph.projection import Batch, Changes, Projection, checkpoints
from analytics_graph.projection.catchup import catch_up
from analytics_graph.projection.checkpoints import Slot
from analytics_graph.projection.ranges import RangeReader
from analytics_graph.projection.rebuild import swap_when_caught_up
from analytics_graph.projection.tables import qualify, start_build
from analytics_graph.types import Connection
from projections import video_reach
from projections.engagement import videos
from tests.integration import projection_world as pw

# Version 1 as released (its tables and batch statement), to upgrade from.
V1_DDL = """
CREATE TABLE {schema}.video_viewers (
    video_id uuid NOT NULL, viewer_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (video_id, viewer_id)
);
CREATE TABLE {schema}.video_reach (video_id uuid PRIMARY KEY, viewers bigint NOT NULL);
"""
V1_APPLY = f"""
WITH pairs AS (
    SELECT DISTINCT stream_id::uuid AS vid, ({VIEWER_ID}) COLLATE "C" AS viewer
    FROM events WHERE position > $1 AND position <= $2 AND type = 'view'
),
added AS (
    INSERT INTO {{schema}}.video_viewers (video_id, viewer_id)
    SELECT vid, viewer FROM pairs p WHERE NOT EXISTS (
        SELECT 1 FROM {{schema}}.video_viewers w
        WHERE w.video_id = p.vid AND w.viewer_id = p.viewer)
    RETURNING video_id
),
counted AS (
    INSERT INTO {{schema}}.video_reach AS t (video_id, viewers)
    SELECT video_id, count(*) FROM added GROUP BY 1
    ON CONFLICT (video_id) DO UPDATE SET viewers = t.viewers + EXCLUDED.viewers
    RETURNING video_id
)
SELECT video_id FROM counted
"""


async def _v1_apply(conn: Connection, batch: Batch) -> Changes:
    rows = await conn.fetch(qualify(V1_APPLY, batch.schema), batch.after, batch.upto)
    return Changes().add(videos=(r[0] for r in rows))


V1 = Projection("video_reach", 1, frozenset(("view",)), V1_DDL, _v1_apply)


async def test_version_1_serves_until_version_2_is_swapped_in(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    head = await pw.load_all(store)
    others = [p for p in projections.ALL if p.name != "video_reach"]
    await pw.run_to(database_url, store, head, [*others, V1])
    world, exp = pw.world(), pw.expected()
    end = world.config.end.date()
    start = end - timedelta(days=6)
    ids = [v.id for v in world.videos]

    async def ranged() -> dict[object, tuple[int, float]]:
        async with pool.acquire() as conn:
            found = await videos.video_analytics(conn, ids, start, end)
        return {v: (a.reached_audience, a.retention[1].ratio) for v, a in found.items()}

    async def lifetime_reach() -> dict[object, int]:
        async with pool.acquire() as conn:
            found = await videos.video_analytics(conn, ids)
        return {v: a.reached_audience for v, a in found.items()}

    lifetime = await lifetime_reach()
    assert lifetime == {v.id: exp.reach(v.id, world.start.date() - timedelta(days=30), end)
                        for v in world.videos}  # fmt: skip
    old = await ranged()
    assert {v: r for v, (r, _) in old.items()} == lifetime  # v1: whole life, as before

    async with pool.acquire() as conn:  # version 2 built beside, not swapped in yet
        reader = RangeReader(store, await start_build(conn, video_reach.PROJECTION, fresh=True))
        await catch_up(conn, reader, video_reach.PROJECTION, Slot.BUILD, batch_size=5_000)
        assert await ranged() == old  # the old tables still answer
        await swap_when_caught_up(conn, video_reach.PROJECTION)
        live = await checkpoints.read(conn, "video_reach", Slot.LIVE)
    assert live is not None and (live.version, live.position) == (2, head)

    new = await ranged()
    assert {v: r for v, (r, _) in new.items()} == {
        v.id: exp.reach(v.id, start, end) for v in world.videos
    }
    assert new != old
    assert await lifetime_reach() == lifetime
