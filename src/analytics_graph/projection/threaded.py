"""The projection runner on an event loop of its own, in a thread of its own.

The server's event loop also runs the API, and the API holds it in stretches: a
round of shared subscriptions executes and sends hundreds of updates (tens of
milliseconds of CPU, longer when the machine is busy), a large query completes, an
ingest request is parsed. A projection worker's batch is about eight round trips
(the range read, begin, claim, the fold's statements, advance, the change notice,
commit), and on a shared loop each of them waits for such a stretch to end. With
10,000 subscribers the read models lagged the log by 400-500 ms (p50), and every
update with them; on this thread's loop, 100-250 ms (``bench/live.py``, in turns).

Here the runner keeps its own loop: when a worker's reply arrives, the thread waits
at most the interpreter's switch interval (5 ms) for the GIL, whatever the server's
loop is doing. Its Python work is small (the folds run in PostgreSQL), but each
reply it handles takes the GIL from the API for a moment, so the API's long
stretches (rounds) take somewhat longer. The thread opens its own connections: a small
pool for the range reads (the store the workers read from), one LISTEN connection
for the log's wake-ups, and the workers' dedicated connections as before. Nothing
in it touches the server's loop, which only starts and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from analytics_graph.database import close_pool, create_pool
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener
from analytics_graph.projection.projector import Projection
from analytics_graph.projection.runner import ProjectionRunner
from analytics_graph.projection.worker import RunnerOptions

log = logging.getLogger(__name__)


class RunnerThread:
    """Runs a :class:`ProjectionRunner` for ``projections`` in a thread with its own
    event loop and connections, from :meth:`start` until :meth:`stop`."""

    def __init__(
        self,
        url: str,
        projections: Sequence[Projection],
        options: RunnerOptions | None = None,
    ) -> None:
        self._url = url
        self.projections = tuple(projections)
        self._options = options
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[float] | None = None
        """Set (in the thread's loop) to the grace of the stop asked for."""
        self._requested: float | None = None
        """The grace of a stop asked for (before the thread's loop may exist)."""
        self.runner: ProjectionRunner | None = None
        """The runner, while the thread runs (its workers' states and positions may be
        read from any thread; nothing else of it may be used outside its loop)."""

    async def start(self) -> None:
        """Starts the thread; returns once the live tables exist and the workers run,
        or raises what kept them from starting (the thread has ended then)."""
        if self._thread is not None:
            return
        self._requested = self._loop = self._stop = None  # of a run before, if any
        caller = asyncio.get_running_loop()
        started: asyncio.Future[None] = caller.create_future()
        thread = threading.Thread(
            target=self._main, args=(caller, started), name="projections", daemon=True
        )
        self._thread = thread
        thread.start()
        try:
            await asyncio.shield(started)
        except BaseException:
            self.request_stop(0.0)
            await asyncio.to_thread(thread.join)
            self._thread = None
            raise

    async def stop(self, grace: float = 0.0) -> None:
        """Stops the runner as :meth:`ProjectionRunner.stop` does (with ``grace``, at a
        batch boundary), then ends the thread. Stopping twice is harmless."""
        thread = self._thread
        if thread is None:
            return
        self.request_stop(grace)
        await asyncio.to_thread(thread.join)
        self._thread = None

    def request_stop(self, grace: float) -> None:
        self._requested = grace
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to stop
                loop.call_soon_threadsafe(_settle, stop, grace)

    def _main(self, caller: asyncio.AbstractEventLoop, started: asyncio.Future[None]) -> None:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(self._serve(caller, started))

    async def _serve(
        self, caller: asyncio.AbstractEventLoop, started: asyncio.Future[None]
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        if self._requested is not None:  # asked before the loop existed
            _settle(self._stop, self._requested)
        try:
            pool = await create_pool(self._url, min_size=1, max_size=len(self.projections))
            try:
                async with Listener(self._url) as listener:
                    runner = ProjectionRunner(
                        self._url, EventStore(pool), listener, self.projections, self._options
                    )
                    await runner.start()
                    self.runner = runner
                    caller.call_soon_threadsafe(_settle, started, None)
                    grace = await self._stop
                    await runner.stop(grace)
            finally:
                self.runner = None
                await close_pool(pool)
        except BaseException as error:
            if started.done():
                log.exception("the projection thread ended")
            else:  # the caller raises it (unless its loop has closed meanwhile)
                with contextlib.suppress(RuntimeError):
                    caller.call_soon_threadsafe(_settle_error, started, error)


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _settle_error(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's when installed (as the server's own loop is, by uvicorn), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - installed with the server
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
