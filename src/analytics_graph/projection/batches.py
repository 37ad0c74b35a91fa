"""Applying one batch: the projection's changes and its checkpoint, in one transaction."""

from __future__ import annotations

from analytics_graph.projection import checkpoints
from analytics_graph.projection.checkpoints import Slot
from analytics_graph.projection.notices import publish
from analytics_graph.projection.projector import (
    FILL_SIZE,
    Batch,
    Changes,
    Projection,
    rebuild_schema,
)
from analytics_graph.types import Connection


def schema_for(projection: Projection, slot: Slot) -> str:
    return projection.schema if slot is Slot.LIVE else rebuild_schema(projection.name)


async def apply_in_transaction(
    conn: Connection,
    projection: Projection,
    slot: Slot,
    after: int,
    upto: int,
    *,
    fill_size: int = FILL_SIZE,
) -> Changes:
    """Claims the checkpoint at ``after``, applies ``(after, upto]`` and advances it to
    ``upto``; the caller owns the transaction. Live batches also queue a change notice.
    A first batch is folded by the projection's ``fill`` when it has one (and
    ``fill_size`` is not 0): the claim at 0 proves the tables empty.

    Raises :class:`~analytics_graph.projection.checkpoints.CheckpointMoved` (having
    applied nothing) when the checkpoint is not at ``after`` with this version.
    """
    # Safe without waiting for the WAL flush: a batch lost in a server crash loses its
    # checkpoint advance with it, and is applied again. Saves a disk wait per batch.
    await conn.execute("SET LOCAL synchronous_commit = off")
    await checkpoints.claim(conn, projection.name, slot, projection.version, after)
    fold = projection.fold_for(after, fill_size)
    changes = await fold(conn, Batch(schema_for(projection, slot), after, upto))
    await checkpoints.advance(conn, projection.name, slot, upto)
    if slot is Slot.LIVE:
        await publish(conn, projection.name, upto, changes)
    return changes


async def apply_batch(
    conn: Connection,
    projection: Projection,
    slot: Slot,
    after: int,
    upto: int,
    *,
    fill_size: int = FILL_SIZE,
) -> Changes:
    """:func:`apply_in_transaction` in a transaction of its own: all of it commits, or
    nothing (a crash or cancellation at any point leaves tables and checkpoint as
    they were)."""
    async with conn.transaction():
        return await apply_in_transaction(conn, projection, slot, after, upto, fill_size=fill_size)
