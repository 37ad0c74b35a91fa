"""Followers: who follows each account now (with the attributes of their latest
follow), totals, gains and losses per day, demographics of current followers,
new followers per video and hour, and follower activity: views of the account's
videos by users who were following it when they viewed ("when" in log order),
per (account, UTC day, UTC hour).

Tables (in ``rm_followers``): ``followers``, ``follower_totals``,
``follower_days``, ``follower_demographics``, ``video_follow_hours``,
``follower_activity``. Missing attributes are stored as ``UNKNOWN``.

Applied set-based, in log order within the batch (see ``sql.py``).
"""

from __future__ import annotations

from analytics_graph.projection import Batch, Changes, Projection
from analytics_graph.projection.tables import qualify
from analytics_graph.types import Connection
from projections.followers.sql import APPLY, DDL

NAME = "followers"
HANDLES = frozenset(("follow", "unfollow", "view"))


# Below this many followers per event of a batch, views are matched to followers
# with a hash join over the whole table rather than one index probe per view.
HASH_JOIN_RATIO = 4


async def _followers(conn: Connection, schema: str) -> int:
    sql = "SELECT coalesce(sum(followers), 0) FROM {schema}.follower_totals"
    return int(await conn.fetchval(qualify(sql, schema)))


async def apply(conn: Connection, batch: Batch) -> Changes:
    """Counts follower views (against the followers as they stood before the batch)
    and applies the follow state changes, in one statement."""
    if await _followers(conn, batch.schema) < HASH_JOIN_RATIO * (batch.upto - batch.after):
        # Hashing all followers beats probing the index once per view of the batch.
        await conn.execute("SET LOCAL enable_nestloop = off")
    rows = await conn.fetch(qualify(APPLY, batch.schema), batch.after, batch.upto)
    return Changes().add(accounts=(r[0] for r in rows), videos=(r[1] for r in rows))


PROJECTION = Projection(
    name=NAME,
    version=1,
    handles=HANDLES,
    ddl=DDL,
    apply=apply,
    description="followers, gains and losses, demographics, follower activity",
)
