"""The append-only event store on PostgreSQL, with asyncpg.

Usage::

    store = EventStore(pool, notifier)
    positions = await store.append([NewEvent("acct-1", "AccountRegistered", 1, state=b"...")])
    result = await store.append_bulk(engagement_events)     # idempotent by event_id
    events = await store.read_log(after=0, limit=1000)       # never skips a late commit
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress
from operator import itemgetter, not_
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from analytics_graph.errors import AppendOnlyViolation, ConcurrencyError, StoreError
from analytics_graph.eventstore import partitions
from analytics_graph.eventstore.formats import (
    COPY_COLUMNS,
    EVENT_ID,
    NO_FORMAT_COLUMNS,
    FactRow,
    compact,
    payload_text,
)
from analytics_graph.eventstore.notify import Notifier
from analytics_graph.eventstore.reader import LogCursor, Proof, wait_until_final
from analytics_graph.eventstore.records import BulkResult, NewEvent, RecordedEvent
from analytics_graph.eventstore.schema import pending
from analytics_graph.eventstore.snapshot import HORIZON_SUBQUERY, Horizon
from analytics_graph.types import Connection


def columns(alias: str = "") -> str:
    """The select list of a :class:`RecordedEvent`; ``data`` upcast to format 1's shape
    (``formats.py``). ``alias``: the table's alias with its dot."""
    e = alias
    return (
        f"{e}position, {e}stream_id, {e}stream_version, {e}type, {e}event_id,"
        f" {e}occurred_at, {e}recorded_at, {payload_text(e)} AS data, {e}state"
    )


COLUMNS = columns()
INSERT_SQL = f"""
INSERT INTO events ({", ".join(COPY_COLUMNS)})
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::uuid[],
                     $5::timestamptz[], $6::jsonb[], $7::bytea[],
                     $8::smallint[], $9::uuid[], $10::text[], $11::numeric[], $12::boolean[],
                     $13::smallint[], $14::text[], $15::text[], $16::uuid[], $17::text[],
                     $18::smallint[], $19::smallint[])
RETURNING position
"""
# One statement, so the rows, the snapshot and the largest position agree.
TAIL_SQL = f"""
SELECT h.xmin, h.next_xid, h.max_position, e.*
FROM {HORIZON_SUBQUERY} h
LEFT JOIN LATERAL (
    SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2
) e ON true
"""
RANGE_SQL = f"""
SELECT h.xmin, h.next_xid, h.max_position, e.position
FROM {HORIZON_SUBQUERY} h
LEFT JOIN LATERAL (
    SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT $2
) e ON true
"""
VIDEO_PUBLISHED = "analytics_graph.domain.aggregates:Video.Published"
# An account's events: its own stream (its aggregate events, profile views, follows),
# and the streams of the videos it published (their aggregate events and engagement).
# The videos are found in the log itself (the owner inside Video.Published's state).
READ_LOG_SQL = f"""
SELECT {COLUMNS} FROM events
WHERE position > $1 AND position <= $2
  AND ($3::text[] IS NULL OR type = ANY($3))
  AND ($4::text IS NULL OR stream_id = $4)
  AND ($6::timestamptz IS NULL OR occurred_at >= $6)
  AND ($7::timestamptz IS NULL OR occurred_at <= $7)
  AND ($8::timestamptz IS NULL OR recorded_at >= $8)
  AND ($9::timestamptz IS NULL OR recorded_at <= $9)
  AND ($10::text IS NULL OR stream_id = $10 OR stream_id IN (
        SELECT v.stream_id FROM events v
        WHERE v.type = '{VIDEO_PUBLISHED}' AND v.stream_version IS NOT NULL
          AND convert_from(v.state, 'UTF8')::jsonb -> 'account_id' ->> '_data_' = $11))
ORDER BY position LIMIT $5
"""
_EVENT_ID_OF = itemgetter(EVENT_ID)
_KEY_DETAIL = re.compile(r"=\((?P<stream>.*), (?P<version>-?\d+)\) already exists")
MAX_BULK_RETRIES = 5
# The xid first (for the skip-free reader); then: look ids up through the unique index.
# A table filled by bulk loads is seldom analysed yet, and then PostgreSQL chose a
# (parallel) sequential scan of the whole log, plus JIT compilation, for every batch.
BULK_BEGIN_SQL = "SELECT pg_current_xact_id(); SET LOCAL enable_seqscan = off; SET LOCAL jit = off"


# Lost races of concurrent bulk appends of the same ids: a unique violation, or a
# deadlock when two COPYs each wait for a key the other has written.
class DoubleAcrossPartitions(Exception):
    """An unchecked bulk append stored an id again in a new partition (rolled back, and
    redone with the lookup, like any lost race)."""


RETRYABLE_BULK_ERRORS = (
    asyncpg.UniqueViolationError,
    asyncpg.DeadlockDetectedError,
    DoubleAcrossPartitions,
)
# The last position this session drew: the COPY's last row (positions are drawn in
# row order, CACHE 1).
LAST_DRAWN_SQL = "SELECT currval(pg_get_serial_sequence('events', 'position'))"
# The ids of a bulk append already stored (in the partitions below $2, if given).
STORED_IDS_SQL = """
SELECT event_id FROM events WHERE event_id = ANY($1::uuid[])
  AND ($2::bigint IS NULL OR position < $2)
"""
# The partition the next position goes into, taken shared (see ``_copy_fresh``): held
# until commit, it tells the appends of later partitions that this one may still
# write below them.
HEAD_PARTITION_SQL = f"""
SELECT lower, upper, pg_advisory_xact_lock_shared({partitions.KEY_SQL})
FROM (SELECT name, lower, upper FROM events_partitions()
      WHERE upper > ({partitions.LAST_DRAWN_SQL}) ORDER BY upper LIMIT 1) head
"""
FULL = "the log's last partition is full: add partitions (analytics-graph partitions create)"
# Waits until no append that took one of the partitions below $1 is open (each key
# taken exclusively for a moment, and given back at once).
BARRIER_SQL = f"""
SELECT count(*) FROM (
    SELECT pg_advisory_lock(k), pg_advisory_unlock(k)
    FROM (SELECT {partitions.KEY_SQL} AS k FROM events_partitions() WHERE upper <= $1) below
) waited
"""
DOUBLES_SQL = """
SELECT count(*) > count(DISTINCT event_id) FROM events WHERE event_id = ANY($1::uuid[])
"""
DATABASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # "cannot switch to state ...": asyncpg's state after a connection died mid-operation
    asyncpg.InternalClientError,
    OSError,
)


# Every aggregate event after a known version of the given streams, in order: one
# index range scan per stream. Written as LATERAL so that the plan does not depend
# on statistics (a table filling up by bulk loads is rarely analysed yet), and run
# without JIT: with such estimates PostgreSQL compiled this query for every batch,
# which cost it more CPU than the COPY of the batch.
STREAMS_AFTER_SQL = f"""
SELECT {columns("e.")}
FROM unnest($1::text[], $2::bigint[]) AS k(stream_id, known)
CROSS JOIN LATERAL (
    SELECT * FROM events
    WHERE stream_id = k.stream_id AND stream_version > k.known AND stream_version IS NOT NULL
    ORDER BY stream_version
) e
"""


def _json(data: Any) -> str | None:
    if data is None or isinstance(data, str):
        return data
    return orjson.dumps(data).decode()


def _row(event: NewEvent) -> tuple[Any, ...]:
    """The values of :data:`COPY_COLUMNS`: format 2 when the event has it, else 1."""
    compacted = compact(event)
    if compacted is not None:
        e = event
        return (e.stream_id, None, e.type, e.event_id, e.occurred_at, None, None, *compacted)
    return (
        event.stream_id,
        event.stream_version,
        event.type,
        event.event_id,
        event.occurred_at,
        _json(event.data),
        event.state,
        *NO_FORMAT_COLUMNS,
    )


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    data = row["data"]
    return RecordedEvent(
        position=row["position"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        type=row["type"],
        event_id=row["event_id"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        data=None if data is None else orjson.loads(data),
        state=row["state"],
    )


async def _refuse_doubles(conn: Connection, ids: list[UUID | None]) -> None:
    if await conn.fetchval(DOUBLES_SQL, ids):
        raise DoubleAcrossPartitions("an event id is stored in two partitions")


def _horizon(row: asyncpg.Record) -> Horizon:
    return Horizon(row["xmin"], row["next_xid"])


def _conflict(exc: asyncpg.UniqueViolationError, events: Sequence[NewEvent]) -> StoreError:
    if exc.constraint_name == "events_stream_version":
        match = _KEY_DETAIL.search(exc.detail or "")
        if match:
            return ConcurrencyError(match["stream"], int(match["version"]))
        first = events[0]
        return ConcurrencyError(first.stream_id, first.stream_version or 0)
    return StoreError(f"an event id of this append is already stored: {exc.detail}")


@contextlib.asynccontextmanager
async def translated_errors() -> AsyncIterator[None]:
    """Translates asyncpg's errors into the :class:`StoreError` branch."""
    try:
        yield
    except asyncpg.RestrictViolationError as exc:
        raise AppendOnlyViolation(str(exc)) from exc
    except DATABASE_ERRORS as exc:
        raise StoreError(f"event store failure: {exc}") from exc


@dataclass(frozen=True, slots=True)
class LogWindow:
    """Filters of :meth:`EventStore.read_log` beyond type and stream: inclusive time
    bounds, and ``account_id`` (canonical UUID text): the account's own stream and the
    streams of every video it published (their engagement included)."""

    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    account_id: str | None = None


class EventStore:
    """Appends to and reads from the ``events`` table (see ``schema.py``)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        notifier: Notifier | None = None,
        *,
        acquire_timeout: float | None = None,
    ) -> None:
        self.pool = pool
        self._notifier = notifier
        self.acquire_timeout = acquire_timeout
        """Longest wait for a pooled connection in :meth:`append_bulk`,
        :meth:`last_position` and :meth:`pending_migrations` (``None``: no limit);
        then they raise :class:`StoreError` having written nothing."""
        self.known_final = 0
        """A position up to which the log is known to be final (no append can still
        commit at or below it), as learnt by the readers of this store: each range a
        reader proves final saves the others from proving it again."""
        self.proof: Proof | None = None
        """A proof of finality under way, shared by the readers of this store (and
        by the next runner's, after a restart)."""

    def learn_final(self, position: int) -> None:
        """Records that the log is final up to ``position`` (monotonic)."""
        if position > self.known_final:
            self.known_final = position

    def _committed(self) -> None:
        if self._notifier is not None:
            self._notifier.poke()

    # ---------------------------------------------------------------- writing

    async def append(
        self, events: Sequence[NewEvent], *, conn: Connection | None = None
    ) -> list[int]:
        """Appends ``events`` atomically, in order; returns their positions.

        Raises :class:`ConcurrencyError` when a ``(stream_id, stream_version)``
        is taken, and writes nothing then. With ``conn``, runs inside the
        caller's open transaction (the caller commits, and should call
        :meth:`notify_committed` after).
        """
        if not events:
            return []
        if conn is not None:
            return await self._insert(conn, events)
        async with translated_errors(), self.pool.acquire() as own:
            async with own.transaction():
                positions = await self._insert(own, events)
        self._committed()
        return positions

    async def _insert(self, conn: Connection, events: Sequence[NewEvent]) -> list[int]:
        # The xid first, then positions: what makes the skip-free reader sound.
        await conn.execute("SELECT pg_current_xact_id()")
        columns = list(zip(*(_row(e) for e in events), strict=True))
        try:
            rows = await conn.fetch(INSERT_SQL, *columns)
        except asyncpg.UniqueViolationError as exc:
            raise _conflict(exc, events) from exc
        # Identity values are drawn in insertion order, which is the input order.
        return sorted(r[0] for r in rows)

    def notify_committed(self) -> None:
        """Wakes readers after a caller-managed transaction that appended has committed."""
        self._committed()

    async def append_bulk(
        self, events: Sequence[NewEvent], *, optimistic: bool = False
    ) -> BulkResult:
        """Appends engagement facts idempotently by ``event_id``, with COPY.

        An event whose ``event_id`` is already stored, or appeared earlier in
        ``events``, is counted as a duplicate and not stored again. All of the
        new events commit together or none do. Safe against concurrent callers
        sending the same ids: the loser of the race re-checks and retries.

        ``optimistic`` is for callers that expect the ids to be new (say, they
        left out the ids they stored themselves): the first attempt copies
        without looking the ids up (a lookup costs PostgreSQL about a fifth of
        the COPY), and any collision falls back to the checked path. Same result
        either way; only the cost differs.
        """
        unique: dict[UUID, NewEvent] = {}
        for event in events:
            if event.event_id is None:
                raise ValueError("append_bulk needs an event_id on every event")
            unique.setdefault(event.event_id, event)
        distinct = list(unique.values())

        def fresh(stored: set[UUID]) -> list[FactRow]:
            return [_row(e) for e in distinct if e.event_id not in stored]

        ids = [e.event_id for e in distinct]
        return await self._append_new(ids, fresh, len(events), optimistic)

    async def append_rows(self, rows: Sequence[FactRow], *, optimistic: bool = False) -> BulkResult:
        """:meth:`append_bulk` for engagement facts already in the form COPY takes (the
        values of :data:`COPY_COLUMNS`, as the ingest makes them in
        ``ingest/normalise.py``): the same guarantees, without a :class:`NewEvent` per
        fact to convert."""
        # C-level steps over the ids (no Python step per row): the first of each id kept.
        ids: list[UUID | None] = list(map(_EVENT_ID_OF, rows))
        distinct = list(rows)
        if len(set(ids)) != len(ids):
            first = dict(zip(reversed(ids), range(len(ids) - 1, -1, -1), strict=True))
            keep = sorted(first.values())
            distinct, ids = list(map(distinct.__getitem__, keep)), list(map(ids.__getitem__, keep))

        def fresh(stored: set[UUID]) -> list[FactRow]:
            if not stored:
                return distinct
            return list(compress(distinct, map(not_, map(stored.__contains__, ids))))

        return await self._append_new(ids, fresh, len(rows), optimistic)

    async def _append_new(
        self,
        ids: list[UUID | None],
        fresh_of: Callable[[set[UUID]], list[FactRow]],
        size: int,
        optimistic: bool,
    ) -> BulkResult:
        """The attempts of a bulk append of distinct ``ids`` (``size`` with the doubles),
        each by :meth:`_copy_fresh`."""
        for attempt in range(MAX_BULK_RETRIES):
            try:
                accepted, last = await self._copy_fresh(
                    ids, fresh_of, check=attempt > 0 or not optimistic
                )
            except RETRYABLE_BULK_ERRORS:
                continue  # some of the ids were stored first (or are being stored) by another
            if accepted:
                self._committed()
            return BulkResult(accepted, size - accepted, last)
        raise StoreError("bulk append kept colliding with concurrent appends of the same events")

    async def _copy_fresh(
        self,
        ids: list[UUID | None],
        fresh_of: Callable[[set[UUID]], list[FactRow]],
        *,
        check: bool,
    ) -> tuple[int, int | None]:
        """Copies the rows ``fresh_of`` keeps of those whose ids (``ids``) are not stored
        yet; returns how many, and the last position.

        The lookup covers the deduplication window (the attached partitions,
        ``partitions.py``). Unchecked, it covers the partitions below the one being
        filled (the head), whose own unique index catches the rest.

        Two appends of one id that are open at once are kept apart by that unique
        index when their rows land in one partition; across a boundary no index
        spans both, so the partitions' advisory keys do. Each append holds its head
        partition's key shared until it commits (taken before it draws a position),
        and, before its lookup, waits until the appends holding a key of an earlier
        partition have ended, so the lookup sees what they stored below its head.
        Only an append whose own rows crossed out of its head can still meet an
        open one below them: it waits likewise for those below its last row, and
        then looks for doubles (rolled back and redone with the lookup, like any
        lost race)."""
        last = None
        async with (
            translated_errors_except_unique(),
            self.pool.acquire(timeout=self.acquire_timeout) as conn,
        ):
            async with conn.transaction():
                await conn.execute(BULK_BEGIN_SQL)
                head = await conn.fetchrow(HEAD_PARTITION_SQL)
                if head is None:
                    raise StoreError(FULL)
                if head["lower"] is not None:
                    await conn.fetchval(BARRIER_SQL, head["lower"])
                below = None if check else head["lower"]
                fresh = fresh_of(await self._stored_ids(conn, ids, below))
                if fresh:
                    await conn.copy_records_to_table("events", records=fresh, columns=COPY_COLUMNS)
                    last = await conn.fetchval(LAST_DRAWN_SQL)
                    if last >= head["upper"]:
                        await conn.fetchval(BARRIER_SQL, last)
                        await _refuse_doubles(conn, ids)
        return len(fresh), last

    async def _stored_ids(
        self, conn: Connection, ids: list[UUID | None], below: int | None = None
    ) -> set[UUID]:
        return {r[0] for r in await conn.fetch(STORED_IDS_SQL, ids, below)}

    # ---------------------------------------------------------------- reading

    async def read_stream(
        self,
        stream_id: str,
        *,
        after_version: int | None = None,
        upto_version: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """The events of one versioned stream, by version."""
        order = "DESC" if desc else "ASC"
        sql = f"""
            SELECT {COLUMNS} FROM events
            WHERE stream_id = $1 AND stream_version IS NOT NULL
              AND ($2::bigint IS NULL OR stream_version > $2)
              AND ($3::bigint IS NULL OR stream_version <= $3)
            ORDER BY stream_version {order} LIMIT $4
        """
        async with translated_errors():
            rows = await self.pool.fetch(sql, stream_id, after_version, upto_version, limit)
        return [_recorded(r) for r in rows]

    async def read_streams_after(
        self, stream_ids: Sequence[str], versions: Sequence[int]
    ) -> list[RecordedEvent]:
        """The events of each versioned stream in ``stream_ids`` after the version at
        the same index of ``versions``, by stream and version, in one statement."""
        acquire = self.pool.acquire(timeout=self.acquire_timeout)
        async with translated_errors(), acquire as conn, conn.transaction():
            await conn.execute("SET LOCAL jit = off")
            rows = await conn.fetch(STREAMS_AFTER_SQL, list(stream_ids), list(versions))
        return [_recorded(r) for r in rows]

    async def read_log(
        self,
        after: int = 0,
        limit: int = 1000,
        *,
        upto: int | None = None,
        types: Sequence[str] | None = None,
        stream_id: str | None = None,
        window: LogWindow | None = None,
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events after position ``after`` in log order, optionally filtered
        (by type, by stream, and by ``window``: times and an account, see :class:`LogWindow`).

        Only final positions are returned: if an append that drew an earlier
        position is still in flight, this waits for it (see ``reader.py``), so
        paging on with ``after=<last position>`` never skips an event.
        """
        w = window or LogWindow()
        async with translated_errors(), self.pool.acquire() as conn:
            horizon = await wait_until_final(conn)
            if upto is not None:
                horizon = min(horizon, upto)
            rows = await conn.fetch(
                READ_LOG_SQL,
                after,
                horizon,
                types,
                stream_id,
                limit,
                w.occurred_from,
                w.occurred_to,
                w.recorded_from,
                w.recorded_to,
                w.account_id,
                None if w.account_id is None else UUID(w.account_id).hex,
            )
        return [_recorded(r) for r in rows]

    async def read_next(self, cursor: LogCursor, limit: int = 10_000) -> list[RecordedEvent]:
        """The next events after ``cursor``, advancing it; for tailing readers.

        Returns fewer than were committed when a hole ahead may still fill in
        (then ``cursor.blocked`` is true: read again shortly). Never waits.
        """
        async with translated_errors():
            rows = await self.pool.fetch(TAIL_SQL, cursor.position, limit)
        found = [r for r in rows if r["position"] is not None]
        count = cursor.settle(
            [r["position"] for r in found], _horizon(rows[0]), rows[0]["max_position"]
        )
        return [_recorded(r) for r in found[:count]]

    async def next_range(self, cursor: LogCursor, limit: int = 10_000) -> tuple[int, int] | None:
        """Advances ``cursor`` over up to ``limit`` final positions; returns ``(after, upto]``.

        For readers that process the range inside PostgreSQL (set-based
        projections) and need the positions, not the rows. ``None`` when
        nothing new is final yet.
        """
        before = cursor.position
        async with translated_errors():
            rows = await self.pool.fetch(RANGE_SQL, before, limit)
        positions = [r["position"] for r in rows if r["position"] is not None]
        cursor.settle(positions, _horizon(rows[0]), rows[0]["max_position"])
        return None if cursor.position == before else (before, cursor.position)

    async def last_position(self) -> int:
        """The largest position committed so far (0 when empty); may sit above a hole."""
        async with translated_errors(), self.pool.acquire(timeout=self.acquire_timeout) as conn:
            value = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        return int(value)

    async def pending_migrations(self) -> list[int]:
        """The schema migrations not applied to this database yet (readiness probes)."""
        async with translated_errors(), self.pool.acquire(timeout=self.acquire_timeout) as conn:
            return await pending(conn)

    async def final_position(self) -> int:
        """The largest position up to which the log can no longer change."""
        async with translated_errors(), self.pool.acquire() as conn:
            return await wait_until_final(conn)


@contextlib.asynccontextmanager
async def translated_errors_except_unique() -> AsyncIterator[None]:
    """Like :func:`translated_errors`, but lets lost races through for retrying."""
    try:
        yield
    except RETRYABLE_BULK_ERRORS:
        raise
    except DATABASE_ERRORS as exc:
        raise StoreError(f"event store failure: {exc}") from exc
