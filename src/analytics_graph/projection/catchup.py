"""Folding a stretch of the log into one slot of a projection, batch by batch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from analytics_graph.projection.batches import apply_batch
from analytics_graph.projection.checkpoints import Slot
from analytics_graph.projection.projector import FILL_SIZE, Projection
from analytics_graph.projection.ranges import RangeReader
from analytics_graph.types import Connection

# How long to wait before re-reading when a hole ahead may still fill in: holes
# last as long as an append transaction, a few milliseconds.
HOLE_RETRY = 0.002

OnBatch = Callable[[int], None]


async def catch_up(
    conn: Connection,
    ranges: RangeReader,
    projection: Projection,
    slot: Slot,
    *,
    batch_size: int,
    fill_size: int = FILL_SIZE,
    on_batch: OnBatch | None = None,
) -> None:
    """Applies batches of up to ``batch_size`` events from ``ranges`` (which must stand
    at the slot's checkpoint) until nothing final is left to read; a first batch the
    projection can ``fill`` takes up to ``fill_size``.

    Each batch commits with its checkpoint. On any error ``ranges`` may be ahead of
    the checkpoint: make a new one from the checkpoint before retrying.
    """
    while True:
        span = await ranges.next(projection.batch_limit(ranges.position, batch_size, fill_size))
        if span is None:
            if not ranges.blocked:
                return
            await asyncio.sleep(HOLE_RETRY)
            continue
        await apply_batch(conn, projection, slot, *span, fill_size=fill_size)
        if on_batch is not None:
            on_batch(span[1])
