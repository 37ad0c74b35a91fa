"""Reading the log from a replica without ever skipping a late commit.

The skip-free reader (``eventstore/reader.py``) proves a range final from the
xids a statement's snapshot sees running. A standby cannot prove that: an xid
the primary handed out but has not yet written to the WAL is unknown to it, so
a standby snapshot can look quiet while an append that drew an earlier
position is still open on the primary.

But the projections' live checkpoints are such proofs, made on the primary: a
checkpoint moves only over a range its runner proved final there, in a
transaction that read every event of that range. On a replica that has
replayed the checkpoint's commit, all those events are visible, and no other
event can ever land at or below it. So a replica's log is read up to its
highest live checkpoint (its *final mark*); a page that ends before the page
is full is completed from the primary, through the skip-free reader.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.records import RecordedEvent
from analytics_graph.eventstore.store import COLUMNS, _recorded
from analytics_graph.replication.pools import ReadPools, Source
from analytics_graph.types import Connection

PAGE_SQL = f"""
SELECT m.mark, e.*
FROM (SELECT coalesce(max(position), 0) AS mark
      FROM projection_checkpoints WHERE slot = 'live') m
LEFT JOIN LATERAL (
    SELECT {COLUMNS} FROM events
    WHERE position > $1 AND position <= m.mark
      AND ($2::text[] IS NULL OR type = ANY($2))
      AND ($3::text IS NULL OR stream_id = $3)
    ORDER BY position LIMIT $4
) e ON true
"""


async def replica_page(
    conn: Connection,
    after: int,
    limit: int,
    types: Sequence[str] | None,
    stream_id: str | None,
) -> tuple[int, list[RecordedEvent]]:
    """The replica's final mark and up to ``limit`` events in ``(after, mark]``."""
    try:
        rows = await conn.fetch(PAGE_SQL, after, types, stream_id, limit)
    except asyncpg.UndefinedTableError:  # no projection has run: nothing proven final
        return 0, []
    return rows[0]["mark"], [_recorded(r) for r in rows if r["position"] is not None]


async def read_log(
    reads: ReadPools,
    store: EventStore,
    after: int,
    limit: int,
    *,
    types: Sequence[str] | None = None,
    stream_id: str | None = None,
) -> list[RecordedEvent]:
    """What ``store.read_log`` answers, read from a replica as far as it is final
    there, the rest from the primary. Never skips an event."""

    async def page(conn: Connection, source: Source) -> tuple[int, list[RecordedEvent]]:
        if source.replica is None:
            return after, []
        return await replica_page(conn, after, limit, types, stream_id)

    mark, events = (after, []) if not reads.replicas else await reads.run({}, page)
    if len(events) >= limit:
        return events
    rest = await store.read_log(
        max(after, mark), limit - len(events), types=types, stream_id=stream_id
    )
    return events + rest
