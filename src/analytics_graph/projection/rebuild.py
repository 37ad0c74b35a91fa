"""Rebuilding a projection from position 0 into fresh tables, then swapping them in.

While the build runs, the live tables keep serving queries (and keep being
updated by a runner of the same version, if one is working on them). The swap
takes the live checkpoint's row lock, which waits for the live runner's batch in
flight and holds off its next one, brings the build up to the live position if
that is further, and renames the schemas in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from analytics_graph.eventstore import EventStore
from analytics_graph.projection import checkpoints
from analytics_graph.projection.batches import apply_in_transaction
from analytics_graph.projection.catchup import catch_up
from analytics_graph.projection.checkpoints import Slot
from analytics_graph.projection.connection import (
    dedicated_connection,
    try_lock,
    unlock,
    wait_for_lock,
)
from analytics_graph.projection.notices import publish
from analytics_graph.projection.projector import FILL_SIZE, Changes, Projection
from analytics_graph.projection.ranges import RangeReader
from analytics_graph.projection.tables import ensure_live, start_build, swap_in
from analytics_graph.types import Connection

SWAP_ATTEMPTS = 5
SWAP_LOCK_TIMEOUT = "5s"

Progress = Callable[[int, int], None]  # (position reached, last position of the log)


async def _swap_once(conn: Connection, projection: Projection, built: int) -> int:
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
        live = await checkpoints.read(conn, projection.name, Slot.LIVE, lock=True)
        position = max(built, live.position if live else 0)
        if position > built:
            # The live runner got further meanwhile. Its position is final (it only
            # applies final ranges), so the build takes the rest in one batch, without
            # reading the log's horizon from inside this transaction (which would
            # wait for this very transaction).
            await apply_in_transaction(conn, projection, Slot.BUILD, built, position)
        await swap_in(conn, projection, position)
        await publish(conn, projection.name, position, Changes(), everything=True)
    return position


async def swap_when_caught_up(conn: Connection, projection: Projection) -> int:
    """Swaps the build in as the live tables, at or past the live position; returns
    the live position after the swap. Retries when the schema locks cannot be had
    in time (long-running queries)."""
    for attempt in range(SWAP_ATTEMPTS):
        found = await checkpoints.read(conn, projection.name, Slot.BUILD)
        assert found is not None and found.version == projection.version
        try:
            return await _swap_once(conn, projection, found.position)
        except asyncpg.LockNotAvailableError:
            if attempt == SWAP_ATTEMPTS - 1:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def build_and_swap(
    conn: Connection,
    store: EventStore,
    projection: Projection,
    *,
    fresh: bool,
    batch_size: int,
    fill_size: int = FILL_SIZE,
    progress: Progress | None = None,
) -> int:
    """Builds the projection's current version and swaps it in; returns the live position.

    The caller holds the projection's build lock on ``conn``. Without ``fresh``, an
    unfinished build of the same version is resumed.
    """
    ranges = RangeReader(store, await start_build(conn, projection, fresh=fresh))
    target = await store.last_position()

    def report(position: int) -> None:
        nonlocal target
        if progress is not None:
            target = max(target, position)
            progress(position, target)

    report(ranges.position)
    await catch_up(
        conn,
        ranges,
        projection,
        Slot.BUILD,
        batch_size=batch_size,
        fill_size=fill_size,
        on_batch=report,
    )
    return await swap_when_caught_up(conn, projection)


async def rebuild(
    url: str,
    store: EventStore,
    projection: Projection,
    *,
    batch_size: int = 50_000,
    progress: Progress | None = None,
    on_waiting: Callable[[], None] | None = None,
    lock_interval: float = 1.0,
) -> int:
    """Rebuilds ``projection`` from position 0 into fresh tables and swaps them in.

    Waits (calling ``on_waiting`` once) while another rebuild of it runs. Returns
    the live position after the swap. Queries keep reading the old tables until then.
    """
    async with dedicated_connection(url) as conn:
        await ensure_live(conn, [projection])
        if not await try_lock(conn, projection.name, Slot.BUILD):
            if on_waiting is not None:
                on_waiting()
            await wait_for_lock(conn, projection.name, Slot.BUILD, lock_interval)
        try:
            return await build_and_swap(
                conn, store, projection, fresh=True, batch_size=batch_size, progress=progress
            )
        finally:
            await unlock(conn, projection.name, Slot.BUILD)
