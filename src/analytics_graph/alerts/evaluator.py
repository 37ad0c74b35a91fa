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

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from analytics_graph.alerts.evaluate import evaluate, touched
from analytics_graph.eventstore import EventStore
from analytics_graph.projection.follower import ElectedFollower
from analytics_graph.projection.status import wait_until_named_applied
from analytics_graph.types import Connection

log = logging.getLogger(__name__)
LOCK = "analytics_graph.alerts.evaluator"
READ_MODELS = ("engagement", "followers", "alerts")


@dataclass(frozen=True, slots=True)
class EvaluatorOptions:
    """``min_interval``: least time between two evaluations. An evaluation's cost is
    per video and account touched (a spike reads eight days of one hour for each),
    not per event: at 20,000 views/s over 1,000 videos, evaluating every ingest batch
    read 16,000 hour rows ten times a second, in the server's process. Alerts are
    about hours and days; one evaluation a second over whatever came meanwhile raises
    the same alerts (each once, by its id), at most a second later."""

    batch_size: int = 100_000
    poll_interval: float = 1.0
    retry_interval: float = 1.0
    min_interval: float = 1.0


async def checkpoint(conn: Connection) -> int:
    value = await conn.fetchval("SELECT position FROM alert_checkpoint WHERE name='evaluator'")
    return int(value)


async def evaluate_range(conn: Connection, store: EventStore, after: int, upto: int) -> int:
    """Raises the alerts of ``(after, upto]`` and advances the checkpoint; returns how
    many alerts were new to the log."""
    found = await touched(conn, after, upto)
    accepted = 0
    if found.accounts:
        await wait_until_named_applied(conn, READ_MODELS, upto)
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


class Evaluator(ElectedFollower):
    """Keeps evaluating while this process holds the evaluator's lock.

    Usage::

        async with Evaluator(url, store, listener, EvaluatorOptions()):
            ...  # alerts are raised while the block runs
    """

    lock = LOCK
    name = "alert evaluator"

    async def checkpoint(self, conn: Connection) -> int:
        return await checkpoint(conn)

    async def apply(self, conn: Connection, after: int, upto: int) -> None:
        await evaluate_range(conn, self._store, after, upto)
