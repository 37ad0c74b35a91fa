"""LISTEN/NOTIFY wake-ups for readers of the log, kept off the writers' path.

A ``NOTIFY`` inside an append transaction takes a database-wide lock at commit,
which would serialise all writers. Instead, a writer *pokes* a :class:`Notifier`
after its commit; the notifier sends one ``pg_notify`` on its own connection for
any number of pokes that arrived meanwhile. Readers wait on a :class:`Listener`
with a timeout, so a lost notification (or a writer in another program that does
not notify) delays them by at most ``poll_interval``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

CHANNEL = "analytics_graph_events"
log = logging.getLogger(__name__)


class Notifier:
    """Coalesces post-commit pokes into ``pg_notify`` calls on one connection."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self._url = url
        self._channel = channel
        self._poked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Schedules a notification; returns at once. Safe to call very often."""
        self._poked.set()

    async def _run(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while True:
                await self._poked.wait()
                self._poked.clear()
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(self._url)
                    await conn.execute("SELECT pg_notify($1, '')", self._channel)
                except (OSError, asyncpg.PostgresError) as exc:
                    # Readers poll as well; a lost wake-up only delays them.
                    log.warning("could not notify readers: %s", exc)
                    conn = None
                    await asyncio.sleep(0.5)
        finally:
            if conn is not None:
                await conn.close(timeout=1)

    async def __aenter__(self) -> Notifier:
        self._task = asyncio.create_task(self._run(), name="event-notifier")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


NotifyCallback = Callable[[Any, int, str, object], None]


async def keep_listening(
    url: str,
    channel: str,
    on_notify: NotifyCallback,
    connected: asyncio.Event,
    *,
    on_connect: Callable[[bool], object],
    retry_interval: float,
) -> None:
    """LISTENs on ``channel`` until cancelled, reconnecting after a lost connection.

    ``connected`` is set while listening. ``on_connect(first)`` runs after each
    connection, ``first`` being false on reconnections: notifications sent while
    away are lost, and callers must assume anything may have happened.
    """
    first = True
    while True:
        try:
            conn = await asyncpg.connect(url)
            lost = asyncio.Event()
            try:
                conn.add_termination_listener(lambda *_, lost=lost: lost.set())
                await conn.add_listener(channel, on_notify)
                connected.set()
                on_connect(first)
                first = False
                await lost.wait()
            finally:
                connected.clear()
                await conn.close(timeout=1)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("listener on %s lost its connection, retrying: %s", channel, exc)
            first = False
        await asyncio.sleep(retry_interval)


class Listener:
    """Lets any number of readers wait for "the log has grown" wake-ups.

    :meth:`wait` returns when a notification arrives or after ``timeout``
    seconds, whichever is first; callers then read the log either way.
    """

    def __init__(self, url: str, channel: str = CHANNEL, poll_interval: float = 1.0) -> None:
        self._url = url
        self._channel = channel
        self.poll_interval = poll_interval
        self._generation = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def _on_notify(self, *_: Any) -> None:
        asyncio.get_running_loop().create_task(self._bump())

    async def _bump(self) -> None:
        async with self._changed:
            self._generation += 1
            self._changed.notify_all()

    @property
    def generation(self) -> int:
        """Counts wake-ups; pass it to :meth:`wait` to not miss one that came in between."""
        return self._generation

    async def wait(self, seen: int, at_most: float | None = None) -> None:
        """Waits until a wake-up newer than ``seen``, or ``at_most`` seconds (default:
        the poll interval) pass."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation
        # that arrives as the wait ends (the task then never stops).
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval if at_most is None else at_most):
                    await self._changed.wait_for(lambda: self._generation != seen)

    async def _run(self) -> None:
        await keep_listening(
            self._url,
            self._channel,
            self._on_notify,
            self.connected,
            on_connect=lambda _first: asyncio.get_running_loop().create_task(self._bump()),
            retry_interval=self.poll_interval,
        )

    async def __aenter__(self) -> Listener:
        self._task = asyncio.create_task(self._run(), name="event-listener")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@contextlib.asynccontextmanager
async def notifications(url: str) -> AsyncIterator[tuple[Notifier, Listener]]:
    """A notifier and a listener for one process, stopped together."""
    async with Notifier(url) as notifier, Listener(url) as listener:
        yield notifier, listener
