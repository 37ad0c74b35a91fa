"""The projection runner: one worker per projection, started and stopped together.

Usage::

    async with ProjectionRunner(url, store, listener, projections.ALL) as runner:
        ...  # the read models follow the log until the block exits

Several runners (in one process or many) may run against one database: each
projection is worked on by one of them at a time (an advisory lock), and the
others stand by to take over when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener
from analytics_graph.projection.connection import dedicated_connection
from analytics_graph.projection.projector import Projection
from analytics_graph.projection.tables import ensure_live
from analytics_graph.projection.worker import ProjectionWorker, RunnerOptions


class ProjectionRunner:
    """Runs a :class:`ProjectionWorker` for each projection in ``projections``."""

    def __init__(
        self,
        url: str,
        store: EventStore,
        listener: Listener | None,
        projections: Sequence[Projection],
        options: RunnerOptions | None = None,
    ) -> None:
        self._url = url
        self.projections = tuple(projections)
        self.options = options or RunnerOptions()
        self.workers = {
            p.name: ProjectionWorker(
                p, url=url, store=store, listener=listener, options=self.options
            )
            for p in self.projections
        }
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Creates missing live tables (so queries work at once), then starts the workers."""
        async with dedicated_connection(self._url) as conn:
            await ensure_live(conn, self.projections)
        for worker in self.workers.values():
            worker.draining = False
        self._tasks = [
            asyncio.create_task(worker.run(), name=f"projection-{name}")
            for name, worker in self.workers.items()
        ]

    async def stop(self, grace: float = 0.0) -> None:
        """Stops the workers. With ``grace`` (a graceful shutdown), at a batch boundary:
        no new batch starts and a batch being applied may finish for up to ``grace``
        seconds. Then the workers are cancelled: a batch still in flight is rolled
        back, never half-applied. Stopping twice is harmless."""
        for worker in self.workers.values():
            worker.draining = True
        if self._tasks and grace > 0:
            waits = [w.between_batches.wait() for w in self.workers.values()]
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a
            # cancellation that lands as the wait ends (see worker.py's shutdown).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.gather(*waits)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def __aenter__(self) -> ProjectionRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
