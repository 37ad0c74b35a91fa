"""The dispatcher: follows the log like a projection and turns it into deliveries.

For each final range ``(after, upto]`` of the log (never skipping a late commit:
``projection/ranges.py``), in one transaction (``REPEATABLE READ``, so every read
sees one state):

1. claims its checkpoint at ``after`` (``webhook_checkpoint``, row-locked);
2. for each enabled endpoint with ``METRICS_CHANGED`` whose account (a Pro one)
   has engagement in the range, writes a ``metrics.changed`` delivery with the
   account's 28-day totals read from the read models, which stand at or past
   ``upto`` (it waits for them first). Coalesced: a delivery of the endpoint not
   attempted yet takes the newer body instead; a new one is due no sooner than
   ``metrics_interval`` after the previous one;
3. for each ``AlertRaised`` event in the range, an ``alert.raised`` delivery to
   each enabled endpoint of its account with ``ALERT_RAISED``;
4. advances the checkpoint to ``upto`` and wakes the senders at commit.

So deliveries and the checkpoint commit together: after a crash the range is
dispatched again from the same state, and nothing is lost or written twice.

The position of a ``metrics.changed`` body is where the read models stood in the
snapshot. ``engagement`` and ``followers`` advance separately; the dispatcher
waits (up to ``consistency_wait``, 0.2 s) for a snapshot in which both stand at one
position, and otherwise names the lower of the two (the totals then include a
few events past it).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import orjson

from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.formats import ACCOUNT_ID
from analytics_graph.eventstore.notify import Listener
from analytics_graph.projection.follower import ElectedFollower
from analytics_graph.projection.status import live_positions, wait_until_named_applied
from analytics_graph.types import Connection
from analytics_graph.webhooks import payloads
from analytics_graph.webhooks.endpoints import Topic
from projections.engagement.sql import ENGAGEMENT_TYPES

log = logging.getLogger(__name__)
LOCK = "analytics_graph.webhooks.dispatcher"
ALERT_RAISED = "AlertRaised"
READ_MODELS = ("engagement", "followers")
ACCOUNT_EVENT_TYPES = sorted((*ENGAGEMENT_TYPES, "follow", "unfollow"))


@dataclass(frozen=True, slots=True)
class DispatchOptions:
    """``metrics_interval``: least time between two ``metrics.changed`` deliveries to
    one endpoint; ``consistency_wait``: how long to look for a snapshot where the
    read models stand at one position; the rest as in ``RunnerOptions``."""

    metrics_interval: float = 5.0
    consistency_wait: float = 0.2
    batch_size: int = 100_000
    poll_interval: float = 1.0
    retry_interval: float = 1.0
    min_interval: float = 0.0


class _Uneven(Exception):
    """The read models stood at different positions in the snapshot."""


class CheckpointMoved(Exception):
    """The dispatcher's checkpoint is not where this dispatcher expected it."""


def message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


async def checkpoint(conn: Connection) -> int:
    value = await conn.fetchval("SELECT position FROM webhook_checkpoint WHERE name='dispatcher'")
    return int(value)


async def _metrics_accounts(conn: Connection, after: int, upto: int) -> list[asyncpg.Record]:
    """Endpoints hearing ``metrics.changed`` of a Pro account with engagement in the range."""
    return list(
        await conn.fetch(
            f"""
            WITH listening AS (
                SELECT w.webhook_id, w.account_id FROM webhook_endpoints w
                JOIN rm_entities.accounts a ON a.account_id = w.account_id AND a.is_pro
                WHERE w.enabled AND $3 = ANY(w.topics) AND w.created_position < $2
            ), touched AS (
                SELECT DISTINCT ({ACCOUNT_ID})::uuid AS account_id FROM events
                WHERE position > $1 AND position <= $2 AND type = ANY($4::text[])
                  AND {ACCOUNT_ID} IN (SELECT account_id::text FROM listening)
            )
            SELECT l.webhook_id, l.account_id FROM listening l JOIN touched USING (account_id)
            ORDER BY l.account_id, l.webhook_id
            """,
            after,
            upto,
            Topic.METRICS_CHANGED.value,
            ACCOUNT_EVENT_TYPES,
        )
    )


# One statement per endpoint (sent pipelined with executemany): the newest body goes
# into the endpoint's delivery not attempted yet, if there is one; else into a new
# delivery, due one interval after the previous one's slot.
WRITE_SQL = """
WITH coalesced AS (
    UPDATE webhook_deliveries SET body = $5, position = $4
    WHERE delivery_id = (
        SELECT delivery_id FROM webhook_deliveries
        WHERE webhook_id = $1 AND topic = $3 AND status = 'pending' AND attempts = 0
        ORDER BY delivery_id DESC LIMIT 1)
    RETURNING delivery_id
)
INSERT INTO webhook_deliveries (webhook_id, message_id, topic, position, body, scheduled_at,
                                next_attempt_at)
SELECT $1, $2, $3, $4, $5, s.at, s.at
FROM (SELECT greatest(now(), (SELECT max(scheduled_at) FROM webhook_deliveries
                              WHERE webhook_id = $1 AND topic = $3)
                             + make_interval(secs => $6)) AS at) s
WHERE NOT EXISTS (SELECT 1 FROM coalesced)
"""


async def _metrics(conn: Connection, after: int, upto: int, position: int, interval: float) -> int:
    now = datetime.now(UTC)
    bodies: dict[UUID, str] = {}
    writes: list[tuple[object, ...]] = []
    topic = Topic.METRICS_CHANGED.value
    for row in await _metrics_accounts(conn, after, upto):
        account = row["account_id"]
        if account not in bodies:
            bodies[account] = await payloads.metrics_changed(conn, account, position, now)
        body, webhook = bodies[account], row["webhook_id"]
        writes.append((webhook, message_id(), topic, position, body, interval))
    await conn.executemany(WRITE_SQL, writes)
    return len(writes)


async def _alerts(conn: Connection, after: int, upto: int) -> int:
    rows = await conn.fetch(
        """
        SELECT e.position, e.data, w.webhook_id FROM events e
        JOIN webhook_endpoints w ON w.account_id = (e.data->>'accountId')::uuid
        WHERE e.position > $1 AND e.position <= $2 AND e.type = $3
          AND w.enabled AND $4 = ANY(w.topics) AND w.created_position < e.position
        ORDER BY e.position, w.webhook_id
        """,
        after,
        upto,
        ALERT_RAISED,
        Topic.ALERT_RAISED.value,
    )
    now = datetime.now(UTC)
    await conn.executemany(
        "INSERT INTO webhook_deliveries (webhook_id, message_id, topic, position, body)"
        " VALUES ($1, $2, $3, $4, $5)",
        [
            (
                r["webhook_id"],
                message_id(),
                Topic.ALERT_RAISED.value,
                r["position"],
                payloads.encode(Topic.ALERT_RAISED, now, _json(r["data"])),
            )
            for r in rows
        ],
    )
    return len(rows)


def _json(data: object) -> dict[str, object]:
    value = orjson.loads(data) if isinstance(data, (str, bytes)) else data
    assert isinstance(value, dict)
    return value


async def dispatch_in_transaction(
    conn: Connection, after: int, upto: int, options: DispatchOptions, *, even: bool
) -> int:
    """Claims the checkpoint at ``after``, writes the deliveries of ``(after, upto]``
    and advances it; returns how many deliveries were written or refreshed. With
    ``even``, raises :class:`_Uneven` when the read models stand apart."""
    found = await conn.fetchval(
        "SELECT position FROM webhook_checkpoint WHERE name = 'dispatcher' FOR UPDATE"
    )
    if found != after:
        raise CheckpointMoved(f"the dispatcher's checkpoint is at {found}, not {after}")
    stands = {n: c.position for n, c in (await live_positions(conn, READ_MODELS)).items()}
    if even and len(set(stands.values())) > 1:
        raise _Uneven
    position = min(stands.values())
    written = await _metrics(conn, after, upto, position, options.metrics_interval)
    written += await _alerts(conn, after, upto)
    await conn.execute(
        "UPDATE webhook_checkpoint SET position = $1 WHERE name = 'dispatcher'", upto
    )
    return written


async def _has_endpoints(conn: Connection, upto: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled"
            " AND created_position < $1)",
            upto,
        )
    )


async def dispatch(conn: Connection, after: int, upto: int, options: DispatchOptions) -> int:
    """:func:`dispatch_in_transaction` in a snapshot of its own, once the read models
    include ``upto``; retried while they stand apart (up to ``consistency_wait``)."""
    if await _has_endpoints(conn, upto):
        await wait_until_named_applied(conn, READ_MODELS, upto)
    deadline = time.monotonic() + options.consistency_wait
    while True:
        even = time.monotonic() < deadline
        try:
            async with conn.transaction(isolation="repeatable_read"):
                return await dispatch_in_transaction(conn, after, upto, options, even=even)
        except _Uneven:
            await asyncio.sleep(0.005)
        except asyncpg.SerializationError:  # a sender claimed a delivery meanwhile
            await asyncio.sleep(0.001)


class Dispatcher(ElectedFollower):
    """Keeps dispatching while this process holds the dispatcher's lock (one process
    of a cluster does; the others stand by and take over when it dies)."""

    lock = LOCK
    name = "webhook dispatcher"

    def __init__(
        self,
        url: str,
        store: EventStore,
        listener: Listener | None,
        options: DispatchOptions,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(url, store, listener, options)
        self.dispatch_options = options
        self.on_written = on_written
        """Called after a dispatch that wrote deliveries committed (wakes the sender)."""

    async def checkpoint(self, conn: Connection) -> int:
        return await checkpoint(conn)

    async def apply(self, conn: Connection, after: int, upto: int) -> None:
        written = await dispatch(conn, after, upto, self.dispatch_options)
        if written and self.on_written is not None:
            self.on_written()
