"""The evaluator: follows the log like a projection and raises alerts as the read
models change.

For each final range ``(after, upto]`` of the log: waits until the read models the
rules read (``engagement``, ``followers``, ``alerts``) include ``upto``; checks the
rules for what the range touched, in one snapshot of them; appends an
``AlertRaised`` event for each that fired (``events.py``: idempotent by an id made
of rule, subject and window, so a rule firing again for a window appends nothing);
then advances its checkpoint (``alert_checkpoint``). A crash between the append and
the checkpoint evaluates the range again: the same alerts, dropped as duplicates.
One process of a cluster evaluates (an advisory lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from analytics_graph.alerts.evaluate import evaluate, touched
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener
from analytics_graph.projection.connection import dedicated_connection
from analytics_graph.projection.ranges import RangeReader
from analytics_graph.types import Connection

log = logging.getLogger(__name__)
LOCK = "analytics_graph.alerts.evaluator"
READ_MODELS = ("engagement", "followers", "alerts")


@dataclass(frozen=True, slots=True)
class EvaluatorOptions:
    batch_size: int = 100_000
    poll_interval: float = 1.0
    retry_interval: float = 1.0


async def checkpoint(conn: Connection) -> int:
    value = await conn.fetchval("SELECT position FROM alert_checkpoint WHERE name='evaluator'")
    return int(value)


async def wait_for_read_models(conn: Connection, upto: int) -> None:
    delay = 0.002
    while True:
        lowest = await conn.fetchval(
            "SELECT min(position) FROM projection_checkpoints"
            " WHERE slot = 'live' AND name = ANY($1::text[]) HAVING count(*) = $2",
            list(READ_MODELS),
            len(READ_MODELS),
        )
        if lowest is not None and lowest >= upto:
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


async def evaluate_range(conn: Connection, store: EventStore, after: int, upto: int) -> int:
    """Raises the alerts of ``(after, upto]`` and advances the checkpoint; returns how
    many alerts were new to the log."""
    found = await touched(conn, after, upto)
    accepted = 0
    if found.accounts:
        await wait_for_read_models(conn, upto)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            alerts = await evaluate(conn, found, datetime.now(UTC))
        if alerts:
            now = datetime.now(UTC)
            accepted = (await store.append_bulk([a.event(now) for a in alerts])).accepted
    moved = await conn.execute(
        "UPDATE alert_checkpoint SET position = $2 WHERE name = 'evaluator' AND position = $1",
        after,
        upto,
    )
    if moved != "UPDATE 1":
        raise RuntimeError(f"the alert checkpoint moved away from {after}")
    return accepted


class Evaluator:
    """Keeps evaluating while this process holds the evaluator's lock.

    Usage::

        async with Evaluator(url, store, listener, EvaluatorOptions()):
            ...  # alerts are raised while the block runs
    """

    def __init__(
        self, url: str, store: EventStore, listener: Listener | None, options: EvaluatorOptions
    ) -> None:
        self._url = url
        self._store = store
        self._listener = listener
        self.options = options
        self.position: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="alert-evaluator")

    async def stop(self) -> None:
        """Cancels the work; an evaluation in flight is done again after a restart."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> Evaluator:
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
                        "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", LOCK
                    ):
                        await asyncio.sleep(self.options.retry_interval)
                    await self._follow(conn)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the alert evaluator failed; restarting")
                await asyncio.sleep(self.options.retry_interval)

    async def _follow(self, conn: Connection) -> None:
        self.position = await checkpoint(conn)
        ranges = RangeReader(self._store, self.position)
        while True:
            seen = self._listener.generation if self._listener is not None else 0
            span = await ranges.next(self.options.batch_size)
            if span is None:
                pause = 0.002 if ranges.blocked else self.options.poll_interval
                if self._listener is None:
                    await asyncio.sleep(pause)
                else:
                    await self._listener.wait(seen, pause)
                continue
            await evaluate_range(conn, self._store, *span)
            self.position = span[1]
