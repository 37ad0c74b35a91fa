"""The asyncio side of the eventsourcing persistence module, callable from threads.

The eventsourcing library calls its recorders synchronously, from any thread;
our store is asyncpg. A :class:`Datastore` runs a private event loop in a daemon
thread holding an asyncpg pool, an :class:`EventStore` that pokes a
:class:`Notifier` after each commit, and (once a subscription asks for it) a
:class:`Listener`. Synchronous code hands it coroutines::

    datastore = Datastore(url)                       # connects, migrates
    positions = datastore.run(store_coroutine(datastore.store))
    datastore.close()                                # idempotent
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from analytics_graph.database import close_pool, create_pool
from analytics_graph.errors import StoreError
from analytics_graph.eventstore.notify import Listener, Notifier
from analytics_graph.eventstore.schema import migrate
from analytics_graph.eventstore.store import EventStore

T = TypeVar("T")

POLL_INTERVAL = 1.0  # seconds a subscription waits for a wake-up before it reads anyway
CLOSE_GRACE = 5.0
"""Seconds :meth:`Datastore.close` waits for the pool's connections to come back before
it terminates them (:func:`~analytics_graph.database.close_pool`)."""


class Datastore:
    """A pool, an event store and its notifier, living in their own event loop thread.

    :meth:`run` may be called from any thread except the loop's own; it raises
    :class:`StoreError` once the datastore is closed (also for calls that were
    in flight when :meth:`close` began).
    """

    def __init__(self, url: str, *, create_schema: bool = True, pool_max_size: int = 10) -> None:
        self.url = url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._serve, name="analytics-graph-persistence", daemon=True
        )
        self._state_lock = threading.Lock()
        self._closed = False
        self._stack = contextlib.AsyncExitStack()
        self._listener: Listener | None = None
        self._thread.start()
        try:
            self.store = self.run(self._open(create_schema, pool_max_size))
        except BaseException:
            self.close()
            raise

    def _serve(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    async def _open(self, create_schema: bool, pool_max_size: int) -> EventStore:
        pool = await create_pool(self.url, min_size=1, max_size=pool_max_size)
        self._stack.push_async_callback(lambda: close_pool(pool, CLOSE_GRACE))
        if create_schema:
            async with pool.acquire() as conn:
                await migrate(conn)
        notifier = await self._stack.enter_async_context(Notifier(self.url))
        return EventStore(pool, notifier)

    async def listener(self) -> Listener:
        """The one LISTEN connection of this datastore, started on first use (in the loop)."""
        if self._listener is None:
            listener = Listener(self.url, poll_interval=POLL_INTERVAL)
            self._listener = await self._stack.enter_async_context(listener)
        return self._listener

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedules ``coro`` in the loop; raises :class:`StoreError` when closed."""
        with self._state_lock:
            if self._closed:
                coro.close()
                raise StoreError("the persistence datastore is closed")
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Runs ``coro`` in the loop and returns its result (or raises its error)."""
        if threading.get_ident() == self._thread.ident:
            coro.close()
            raise RuntimeError("Datastore.run called from its own event loop: it would deadlock")
        try:
            return self.submit(coro).result()
        except concurrent.futures.CancelledError:
            raise StoreError("the persistence datastore closed during the call") from None

    def close(self) -> None:
        """Cancels work in flight, closes the listener, notifier and pool, ends the thread."""
        with self._state_lock:
            if self._closed or not self._thread.is_alive():
                self._closed = True
                return
            self._closed = True
            shutdown = self._aclose()
            if threading.get_ident() == self._thread.ident:
                # Closed from inside the loop (say, by a finaliser): cannot wait here.
                self._loop.create_task(shutdown)
                return
            future = asyncio.run_coroutine_threadsafe(shutdown, self._loop)
        future.result()
        self._thread.join()

    async def _aclose(self) -> None:
        current = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        try:
            await self._stack.aclose()
        finally:
            asyncio.get_running_loop().call_soon(self._loop.stop)
