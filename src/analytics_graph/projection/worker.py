"""One projection's worker: waits for its lock, then keeps the live tables current.

Lifecycle, repeated forever (each failure starts over from the stored checkpoint):

1. open a dedicated connection and wait for the projection's live lock (another
   process may hold it: we take over within ``takeover_interval`` of its death;
   if it is running an older version, we rebuild ours beside it and swap it in);
2. if the live tables are of an older version, rebuild into fresh tables and swap
   them in (the old ones serve queries meanwhile);
3. follow the log: catch up in large batches, then apply what is new on each
   LISTEN/NOTIFY wake-up (polling when none come);
4. should the live tables turn out newer than this code, let go of the lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener
from analytics_graph.projection import checkpoints
from analytics_graph.projection.batches import apply_batch
from analytics_graph.projection.catchup import HOLE_RETRY
from analytics_graph.projection.checkpoints import CheckpointMoved, Slot
from analytics_graph.projection.connection import (
    dedicated_connection,
    try_lock,
    unlock,
    wait_for_lock,
)
from analytics_graph.projection.projector import FILL_SIZE, Projection
from analytics_graph.projection.ranges import RangeReader
from analytics_graph.projection.rebuild import build_and_swap
from analytics_graph.projection.tables import ensure_live
from analytics_graph.types import Connection

log = logging.getLogger(__name__)
# A superseded worker waits this many takeover intervals before trying again.
SUPERSEDED_BACKOFF = 5


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    """Tuning of the projection runner.

    ``batch_size``: most events per batch (catch-up uses full batches);
    ``takeover_interval``: how often a standby polls for a lock its holder may have
    released by dying; ``retry_interval``: pause after a failure;
    ``poll_interval``: longest wait for new events without a wake-up;
    ``fill_size``: most events of a first batch folded by a projection's ``fill``
    (into empty tables; 0: always ``apply``).
    """

    batch_size: int = 100_000
    fill_size: int = FILL_SIZE
    takeover_interval: float = 1.0
    retry_interval: float = 1.0
    poll_interval: float = 1.0


class WorkerState(StrEnum):
    STARTING = "starting"
    STANDBY = "standby"  # another runner holds the projection
    REBUILDING = "rebuilding"
    FOLLOWING = "following"
    SUPERSEDED = "superseded"  # the live tables are of a newer version than this code
    RETRYING = "retrying"


class ProjectionWorker:
    """Keeps one projection's live tables current while this process holds its lock."""

    def __init__(
        self,
        projection: Projection,
        *,
        url: str,
        store: EventStore,
        listener: Listener | None,
        options: RunnerOptions,
    ) -> None:
        self.projection = projection
        self._url = url
        self._store = store
        self._listener = listener
        self._options = options
        self.state = WorkerState.STARTING
        self.position: int | None = None
        self.superseded = False
        """Set once this worker found tables of a newer version than its code."""
        self.draining = False
        """Set when the runner stops: no new batch is started."""
        self.between_batches = asyncio.Event()
        """Set while no live batch is being applied (a stop may cancel without loss of work)."""
        self.between_batches.set()

    async def run(self) -> None:
        """Works on the projection until cancelled; never raises otherwise."""
        while True:
            try:
                async with dedicated_connection(self._url) as conn:
                    self.state = WorkerState.STANDBY
                    await self._stand_by(conn)
                    await self._lead(conn)
                # Superseded: the lock is released with the connection; stay away long
                # enough for a runner of the newer version to take it.
                await asyncio.sleep(self._options.takeover_interval * SUPERSEDED_BACKOFF)
            except asyncio.CancelledError:
                raise
            except Exception:  # any failure: start over from the stored checkpoint
                log.exception("projection %s failed; restarting", self.projection.name)
                self.state = WorkerState.RETRYING
                await asyncio.sleep(self._options.retry_interval)

    async def _stand_by(self, conn: Connection) -> None:
        """Waits for the live lock. Meanwhile, when the live tables are of an older
        version (an older runner holds them), builds this version beside them and
        swaps it in: the older runner then steps back (a rolling upgrade)."""
        name, version = self.projection.name, self.projection.version
        while not await try_lock(conn, name, Slot.LIVE):
            live = await checkpoints.read(conn, name, Slot.LIVE)
            older = live is not None and live.version < version
            if older and await try_lock(conn, name, Slot.BUILD):
                await self._build_holding_lock(conn)
                self.state = WorkerState.STANDBY
                continue
            await asyncio.sleep(self._options.takeover_interval)

    async def _lead(self, conn: Connection) -> None:
        """Works on the projection while holding its live lock; returns when the live
        tables turn out to be of a newer version than this code."""
        name, version = self.projection.name, self.projection.version
        while True:
            live = await checkpoints.read(conn, name, Slot.LIVE)
            if live is None:
                await ensure_live(conn, [self.projection])
            elif live.version < version:
                await self._rebuild(conn)
            elif live.version > version:
                log.warning("%s: tables are v%s, code v%s", name, live.version, version)
                self.state, self.superseded = WorkerState.SUPERSEDED, True
                return
            else:
                await self._follow(conn, live.position)

    async def _rebuild(self, conn: Connection) -> None:
        await wait_for_lock(conn, self.projection.name, Slot.BUILD, self._options.takeover_interval)
        await self._build_holding_lock(conn)

    async def _build_holding_lock(self, conn: Connection) -> None:
        self.state = WorkerState.REBUILDING
        name = self.projection.name
        log.info("projection %s: rebuilding as v%s", name, self.projection.version)
        try:
            await build_and_swap(
                conn,
                self._store,
                self.projection,
                fresh=False,
                batch_size=self._options.batch_size,
                fill_size=self._options.fill_size,
            )
        finally:
            await unlock(conn, name, Slot.BUILD)

    async def _wait_for_events(self, seen: int, ranges: RangeReader) -> None:
        pause = HOLE_RETRY if ranges.blocked else self._options.poll_interval
        if self._listener is None:
            await asyncio.sleep(pause)
        else:
            await self._listener.wait(seen, pause)

    async def _swapped(self, conn: Connection) -> bool:
        """Whether the live tables changed version under us (a rebuild swapped in)."""
        live = await checkpoints.read(conn, self.projection.name, Slot.LIVE)
        return live is None or live.version != self.projection.version

    async def _follow(self, conn: Connection, position: int) -> None:
        """Applies new events as they become final; returns when the live checkpoint
        changed version under us (a rebuild elsewhere swapped other tables in)."""
        self.state = WorkerState.FOLLOWING
        ranges, self.position = RangeReader(self._store, position), position
        checked = time.monotonic()
        while True:
            seen = self._listener.generation if self._listener is not None else 0
            limit = self.projection.batch_limit(
                ranges.position, self._options.batch_size, self._options.fill_size
            )
            span = await ranges.next(limit)
            if span is None:
                if time.monotonic() - checked > self._options.poll_interval:
                    if await self._swapped(conn):  # noticed even while the log is idle
                        return
                    checked = time.monotonic()
                await self._wait_for_events(seen, ranges)
                continue
            if self.draining:
                await asyncio.Event().wait()  # parked until the runner cancels us
            self.between_batches.clear()
            try:
                await apply_batch(
                    conn, self.projection, Slot.LIVE, *span, fill_size=self._options.fill_size
                )
            except CheckpointMoved as moved:
                if moved.found is None or moved.found.version != self.projection.version:
                    return
                self.position = moved.found.position
                ranges = RangeReader(self._store, self.position)
                continue
            finally:
                self.between_batches.set()
            self.position = span[1]
