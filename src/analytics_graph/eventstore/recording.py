"""What the persistence module's recorders run in the datastore's event loop.

Appends go through :meth:`EventStore.append` inside our own transaction, with
the tracking row of a process recorder in the same transaction. Reads of
notifications first wait until every position up to the log's largest is
final (``reader.wait_until_final``), so a reader paging by notification id
never passes over an append that commits late. All of it runs outside any
explicit transaction except the append itself, as the reader requires.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from eventsourcing.persistence import IntegrityError, Tracking

from analytics_graph.eventstore.reader import wait_until_final
from analytics_graph.eventstore.records import NewEvent
from analytics_graph.eventstore.store import EventStore
from analytics_graph.types import Connection

APPEND_LOCK = 0x6167617070656E64  # "agappend": session advisory lock around one INSERT
TRACKING_LOCK = 0x61677472  # "agtr": with hashtext(application name), per-application
NOTIFICATION_ROWS = "stream_version IS NOT NULL AND state IS NOT NULL"
SELECT_NOTIFICATIONS_SQL = f"""
SELECT position, stream_id, stream_version, type, state FROM events
WHERE position > $1 AND position <= $2 AND {NOTIFICATION_ROWS}
  AND ($3::text[] IS NULL OR type = ANY($3))
ORDER BY position LIMIT $4
"""
MAX_NOTIFICATION_SQL = (
    f"SELECT max(position) FROM events WHERE position <= $1 AND {NOTIFICATION_ROWS}"
)
INSERT_TRACKING_SQL = """
INSERT INTO tracking (application_name, notification_id)
SELECT $1, $2 WHERE NOT EXISTS (
    SELECT 1 FROM tracking WHERE application_name = $1 AND notification_id >= $2)
RETURNING notification_id
"""
MAX_TRACKING_SQL = "SELECT max(notification_id) FROM tracking WHERE application_name = $1"


async def _insert_tracking(conn: Connection, tracking: Tracking) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))", TRACKING_LOCK, tracking.application_name
    )
    inserted = await conn.fetchval(
        INSERT_TRACKING_SQL, tracking.application_name, tracking.notification_id
    )
    if inserted is None:
        raise IntegrityError(
            f"tracking {tracking.notification_id} of {tracking.application_name!r} "
            "is not above the largest one recorded"
        )


async def _unlock_or_drop(conn: Connection) -> None:
    """Releases the append lock after a failed transaction, or drops the connection."""
    try:
        await conn.execute("SELECT pg_advisory_unlock($1)", APPEND_LOCK)
    except BaseException:
        conn.terminate()
        raise


async def record(
    store: EventStore, events: Sequence[NewEvent], tracking: Tracking | None
) -> list[int]:
    """Appends ``events`` and records ``tracking`` in one transaction; returns the positions.

    The positions of one call are contiguous. Raises ``ConcurrencyError`` (a
    stream version is taken) or ``IntegrityError`` (``tracking`` is not above
    the application's largest), and then nothing is written.
    """
    positions: list[int] = []
    held = False
    async with store.pool.acquire() as conn:
        try:
            async with conn.transaction():
                if tracking is not None:
                    await _insert_tracking(conn, tracking)
                if events:
                    # A session lock, released before the commit: one append's positions
                    # are contiguous, yet commits (the fsyncs) still overlap.
                    await conn.execute("SELECT pg_advisory_lock($1)", APPEND_LOCK)
                    held = True
                    positions = await store.append(events, conn=conn)
                    await conn.execute("SELECT pg_advisory_unlock($1)", APPEND_LOCK)
                    held = False
        finally:
            if held and not conn.is_closed():
                await _unlock_or_drop(conn)
    if positions:
        store.notify_committed()
    return positions


async def select_notifications(
    store: EventStore, after: int, stop: int | None, topics: list[str] | None, limit: int
) -> list[asyncpg.Record]:
    """Up to ``limit`` aggregate events with ``after < position <= stop``, of ``topics``
    (all when None), in position order; only final positions."""
    async with store.pool.acquire() as conn:
        horizon = await wait_until_final(conn)
        upto = horizon if stop is None else min(horizon, stop)
        return list(await conn.fetch(SELECT_NOTIFICATIONS_SQL, after, upto, topics, limit))


async def max_notification_id(store: EventStore) -> int | None:
    """The largest final position of an aggregate event, or None."""
    async with store.pool.acquire() as conn:
        horizon = await wait_until_final(conn)
        value = await conn.fetchval(MAX_NOTIFICATION_SQL, horizon)
    return None if value is None else int(value)


async def max_tracking_id(store: EventStore, application_name: str) -> int | None:
    """The largest notification id tracked for ``application_name``, or None."""
    value = await store.pool.fetchval(MAX_TRACKING_SQL, application_name)
    return None if value is None else int(value)
