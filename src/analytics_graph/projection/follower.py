"""Followers of the log that are not projections (the webhook dispatcher, the alert
evaluator): one process of a cluster runs each, elected by an advisory lock.

A follower reads the log's final ranges ``(after, upto]`` from its own checkpoint
(the skip-free :class:`~analytics_graph.projection.ranges.RangeReader`), wakes on
appends (``Listener``) or polls, and applies each range with :meth:`apply`, which
must advance the checkpoint in the same transaction as what it writes. After a
failure it starts over from the checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener
from analytics_graph.projection.connection import dedicated_connection
from analytics_graph.projection.ranges import RangeReader
from analytics_graph.types import Connection

log = logging.getLogger(__name__)
HOLE_PAUSE = 0.002
"""How soon to read again when an append still in flight holds a hole open."""


class FollowOptions(Protocol):
    @property
    def batch_size(self) -> int: ...
    @property
    def poll_interval(self) -> float: ...
    @property
    def retry_interval(self) -> float: ...
    @property
    def min_interval(self) -> float:
        """Least time from one range's start to the next's (what comes meanwhile
        makes one range): for work whose cost is per range, not per event."""
        ...


class ElectedFollower:
    """Follows the log while this process holds the advisory lock ``lock``; the
    others stand by and take over when it dies. Subclasses give the checkpoint and
    what a range does; ``start``/``stop`` (or ``async with``) run it in the background."""

    lock: str
    name: str

    def __init__(
        self, url: str, store: EventStore, listener: Listener | None, options: FollowOptions
    ) -> None:
        self._url = url
        self._store = store
        self._listener = listener
        self.options = options
        self.position: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def checkpoint(self, conn: Connection) -> int:
        """Where the follower stands in the log."""
        raise NotImplementedError

    async def apply(self, conn: Connection, after: int, upto: int) -> None:
        """Does the work of ``(after, upto]`` and moves the checkpoint to ``upto``."""
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        """Cancels the work; a range in flight is rolled back and done again later."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> ElectedFollower:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def run(self) -> None:
        """Works until cancelled; after a failure, starts over from the checkpoint."""
        while True:
            try:
                async with dedicated_connection(self._url) as conn:
                    while not await conn.fetchval(  # noqa: ASYNC110 - the server holds the lock
                        "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", self.lock
                    ):
                        await asyncio.sleep(self.options.retry_interval)
                    await self._follow(conn)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the %s failed; restarting", self.name)
                await asyncio.sleep(self.options.retry_interval)

    async def _follow(self, conn: Connection) -> None:
        loop = asyncio.get_running_loop()
        self.position = await self.checkpoint(conn)
        ranges = RangeReader(self._store, self.position)
        while True:
            seen = self._listener.generation if self._listener is not None else 0
            span = await ranges.next(self.options.batch_size)
            if span is None:
                pause = HOLE_PAUSE if ranges.blocked else self.options.poll_interval
                if self._listener is None:
                    await asyncio.sleep(pause)
                else:
                    await self._listener.wait(seen, pause)
                continue
            started = loop.time()
            await self.apply(conn, *span)
            self.position = span[1]
            if (rest := started + self.options.min_interval - loop.time()) > 0:
                await asyncio.sleep(rest)
