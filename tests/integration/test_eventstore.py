"""The event store's contract, against real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest

from analytics_graph.errors import AppendOnlyViolation, ConcurrencyError
from analytics_graph.eventstore import EventStore, LogCursor, NewEvent, RecordedEvent
from analytics_graph.eventstore.notify import Listener, Notifier
from analytics_graph.eventstore.schema import MIGRATIONS, migrate
from analytics_graph.eventstore.store import _row
from tests.integration.format_support import facts

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


async def read_settled(store: EventStore, cursor: LogCursor) -> list[RecordedEvent]:
    """Reads until the cursor is no longer blocked: transactions of other tests on
    the same server (xids are server-wide) may hold it back for a moment."""
    seen: list[RecordedEvent] = []
    for _ in range(500):
        seen += await store.read_next(cursor)
        if not cursor.blocked:
            return seen
        await asyncio.sleep(0.01)
    raise AssertionError("the cursor stayed blocked")


async def next_range_settled(store: EventStore, cursor: LogCursor) -> tuple[int, int] | None:
    """Like :func:`read_settled`, for ``next_range``."""
    for _ in range(500):
        found = await store.next_range(cursor)
        if not cursor.blocked:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError("the cursor stayed blocked")


def stream_event(stream: str, version: int, kind: str = "Happened") -> NewEvent:
    return NewEvent(stream, kind, version, state=f"{stream}:{version}".encode())


def fact(n: int = 0, event_id: uuid.UUID | None = None) -> NewEvent:
    return NewEvent(
        "video-1", "view", event_id=event_id or uuid.uuid4(), occurred_at=NOW, data={"n": n}
    )


async def test_append_returns_positions_in_order_and_reads_back(store: EventStore) -> None:
    positions = await store.append([stream_event("a", 1), stream_event("a", 2)])
    assert positions == sorted(positions) and len(positions) == 2
    events = await store.read_stream("a")
    assert [(e.stream_version, e.state) for e in events] == [(1, b"a:1"), (2, b"a:2")]
    assert [e.position for e in events] == positions


async def test_version_conflict_raises_and_writes_nothing(store: EventStore) -> None:
    await store.append([stream_event("a", 1)])
    with pytest.raises(ConcurrencyError) as caught:
        await store.append([stream_event("b", 1), stream_event("a", 1)])
    assert caught.value.stream_id == "a" and caught.value.version == 1
    assert await store.read_stream("b") == []
    assert [e.stream_id for e in await store.read_log()] == ["a"]


async def test_concurrent_writers_of_one_version_exactly_one_wins(store: EventStore) -> None:
    results = await asyncio.gather(
        *(store.append([stream_event("s", 1, f"w{i}")]) for i in range(8)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, list) for r in results) == 1
    assert sum(isinstance(r, ConcurrencyError) for r in results) == 7


async def test_read_stream_bounds_and_order(store: EventStore) -> None:
    await store.append([stream_event("a", v) for v in range(1, 6)])
    assert [e.stream_version for e in await store.read_stream("a", after_version=2)] == [3, 4, 5]
    assert [e.stream_version for e in await store.read_stream("a", upto_version=2)] == [1, 2]
    desc = await store.read_stream("a", desc=True, limit=2)
    assert [e.stream_version for e in desc] == [5, 4]


async def test_bulk_append_is_idempotent_by_event_id(store: EventStore) -> None:
    batch = [fact(i) for i in range(100)]
    first = await store.append_bulk([*batch, batch[0], batch[1]])
    assert (first.accepted, first.duplicates) == (100, 2)
    again = await store.append_bulk([*batch[:50], fact(1000)])
    assert (again.accepted, again.duplicates) == (1, 50)
    events = await store.read_log(limit=1000)
    assert len(events) == 101
    assert len({e.event_id for e in events}) == 101
    assert events[0].data == {"n": 0} and events[0].occurred_at == NOW


async def test_concurrent_bulk_appends_of_overlapping_ids_store_each_once(
    store: EventStore,
) -> None:
    shared = [fact(i) for i in range(500)]
    results = await asyncio.gather(*(store.append_bulk(shared) for _ in range(6)))
    assert sum(r.accepted for r in results) == 500
    assert sum(r.duplicates for r in results) == 500 * 5
    assert len(await store.read_log(limit=10_000)) == 500


@pytest.mark.parametrize("optimistic", [False, True])
async def test_rows_made_beforehand_append_like_their_events(
    store: EventStore, optimistic: bool
) -> None:
    """``append_rows`` (the ingest's rows): idempotent like ``append_bulk``, the same rows."""
    events = facts(60, seed=21)
    rows = [_row(e) for e in events]
    first = await store.append_rows([*rows[:40], rows[0], rows[5]], optimistic=optimistic)
    assert (first.accepted, first.duplicates) == (40, 2)
    again = await store.append_rows(rows[30:], optimistic=optimistic)
    assert (again.accepted, again.duplicates) == (20, 10)
    stored = await store.read_log(limit=1000)
    assert [e.event_id for e in stored] == [e.event_id for e in events]
    assert again.last_position == stored[-1].position
    expected = [orjson.loads(orjson.dumps(e.data)) for e in events]
    assert [e.data for e in stored] == expected


async def test_concurrent_row_appends_of_overlapping_ids_store_each_once(
    store: EventStore,
) -> None:
    rows = [_row(e) for e in facts(300, seed=22)]
    results = await asyncio.gather(
        *(store.append_rows(rows, optimistic=i % 2 == 0) for i in range(6))
    )
    assert sum(r.accepted for r in results) == 300
    assert sum(r.duplicates for r in results) == 300 * 5
    assert len(await store.read_log(limit=10_000)) == 300


async def test_read_log_pages_and_filters(store: EventStore) -> None:
    await store.append([stream_event("a", 1, "A"), stream_event("b", 1, "B")])
    await store.append_bulk([fact(i) for i in range(10)])
    everything = await store.read_log(limit=100)
    first_page = await store.read_log(limit=5)
    second_page = await store.read_log(after=first_page[-1].position, limit=100)
    assert first_page + second_page == everything
    assert [e.type for e in await store.read_log(types=["B"])] == ["B"]
    assert {e.stream_id for e in await store.read_log(stream_id="a")} == {"a"}
    assert await store.read_log(upto=everything[1].position) == everything[:2]


@pytest.mark.parametrize("statement", ["UPDATE events SET type = 'x'", "DELETE FROM events"])
async def test_event_rows_cannot_be_changed(
    store: EventStore, pool: asyncpg.Pool, statement: str
) -> None:
    await store.append([stream_event("a", 1)])
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await pool.execute(statement)
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await pool.execute("TRUNCATE events")
    assert len(await store.read_log()) == 1


async def test_append_only_violation_is_translated(store: EventStore) -> None:
    from analytics_graph.eventstore.store import translated_errors

    await store.append([stream_event("a", 1)])
    with pytest.raises(AppendOnlyViolation):
        async with translated_errors():
            await store.pool.execute("DELETE FROM events")


async def test_migrations_run_twice_and_concurrently(database_url: str) -> None:
    conns = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(migrate(c) for c in conns))
        assert applied == [[], [], []]  # the fixture migrated already
        rows = await conns[0].fetch("SELECT version FROM schema_migrations")
        assert [r[0] for r in rows] == [m.version for m in MIGRATIONS]
    finally:
        for c in conns:
            await c.close()


async def test_fresh_database_migrates_once_under_concurrency(server_url: str) -> None:
    from tests.conftest import scratch_database

    async with scratch_database(server_url) as url:
        conns = [await asyncpg.connect(url) for _ in range(3)]
        try:
            applied = await asyncio.gather(*(migrate(c) for c in conns))
            assert sorted(applied) == [[], [], [m.version for m in MIGRATIONS]]
        finally:
            for c in conns:
                await c.close()


async def test_late_commit_behind_a_later_position_is_not_skipped(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """The scenario the reader exists for: position 1 commits after position 2."""
    cursor = LogCursor()
    async with pool.acquire() as slow:
        tx = slow.transaction()
        await tx.start()
        (early,) = await store.append([stream_event("slow", 1)], conn=slow)
        (late,) = await store.append([stream_event("fast", 1)])
        assert early < late
        naive = await pool.fetch("SELECT position FROM events WHERE position > 0")
        assert [r[0] for r in naive] == [late]  # what a naive reader would take, skipping 1
        assert await store.read_next(cursor) == []
        assert cursor.blocked and cursor.position == 0
        await tx.commit()
    seen = await read_settled(store, cursor)
    assert [e.position for e in seen] == [early, late]
    assert not cursor.blocked


async def test_rolled_back_append_leaves_a_hole_that_readers_pass(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    cursor = LogCursor()
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await store.append([stream_event("gone", 1)], conn=conn)
        (kept,) = await store.append([stream_event("kept", 1)])
        assert await store.read_next(cursor) == []
        await tx.rollback()
    assert [e.position for e in await read_settled(store, cursor)] == [kept]
    assert [e.position for e in await store.read_log()] == [kept]


async def test_next_range_covers_final_positions_only(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    cursor = LogCursor()
    await store.append_bulk([fact(i) for i in range(5)])
    assert await next_range_settled(store, cursor) == (0, 5)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await store.append([stream_event("slow", 1)], conn=conn)
        await store.append([stream_event("fast", 1)])
        assert await store.next_range(cursor) is None
        await tx.commit()
    assert await next_range_settled(store, cursor) == (5, 7)


async def test_listener_wakes_on_notifier_poke(database_url: str) -> None:
    listener = Listener(database_url, poll_interval=30)
    async with Notifier(database_url) as notifier, listener:
        await asyncio.wait_for(listener.connected.wait(), 5)
        seen = listener.generation
        notifier.poke()
        await asyncio.wait_for(listener.wait(seen), 5)
        assert listener.generation != seen


async def test_listener_times_out_to_polling_without_notifications(database_url: str) -> None:
    async with Listener(database_url, poll_interval=0.05) as listener:
        await asyncio.wait_for(listener.connected.wait(), 5)
        seen = listener.generation
        await listener.wait(seen)  # returns after the poll interval, nothing happened
        assert listener.generation == seen
