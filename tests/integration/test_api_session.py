"""Query sessions on real PostgreSQL: every answer from one state of the read models."""

from __future__ import annotations

import asyncpg
import pytest

from analytics_graph.api.reads.snapshots import ConnectionSession, ConsistentReads, snapshot
from analytics_graph.projection import checkpoints
from analytics_graph.projection.checkpoints import Slot, live_tag
from analytics_graph.types import Connection


async def _count(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM snap"))


async def test_a_snapshot_sees_one_state_and_refuses_writes(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE snap (n int)")
    await pool.execute("INSERT INTO snap VALUES (1)")
    async with pool.acquire() as conn:
        async with snapshot(conn) as session:
            assert await session.run(_count) == 1
            await pool.execute("INSERT INTO snap VALUES (2)")  # commits meanwhile
            assert await session.run(_count) == 1  # still the snapshot's state
            assert session.statements == 2
        assert not conn.is_in_transaction()
        assert await _count(conn) == 2
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            async with snapshot(conn):
                await conn.execute("INSERT INTO snap VALUES (3)")
        assert not conn.is_in_transaction()
    assert await pool.fetchval("SELECT count(*) FROM snap") == 2


async def test_an_error_inside_rolls_back_before_it_propagates(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE snap (n int)")

    async def failing(conn: Connection) -> None:
        async with snapshot(conn) as session:
            await session.run(_count)
            raise LookupError("a resolver failed")

    async with pool.acquire() as conn:
        with pytest.raises(LookupError):
            await failing(conn)
        assert not conn.is_in_transaction()


async def test_the_pool_never_lends_a_connection_inside_a_transaction(
    pool: asyncpg.Pool,
) -> None:
    """What :func:`snapshot` relies on if even its ROLLBACK fails: our pool skips the
    reset query, but asyncpg still rolls back an open transaction on release."""
    async with pool.acquire() as conn:
        await conn.execute("BEGIN")  # left open, as a failed block could
        pid = conn.get_server_pid()
    async with pool.acquire() as conn:
        assert conn.get_server_pid() == pid  # the same connection, reset
        assert not conn.is_in_transaction()


async def _read_model(pool: asyncpg.Pool) -> None:
    """A one-table read model and its live checkpoint."""
    async with pool.acquire() as conn:
        await checkpoints.ensure_table(conn)
        await checkpoints.put(conn, "snap", Slot.LIVE, 1, 10)
        await conn.execute("CREATE TABLE snap (n int)")
        await conn.execute("INSERT INTO snap VALUES (1)")


async def _batch(pool: asyncpg.Pool, position: int) -> None:
    """What a projection batch does: a change and its checkpoint, in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO snap VALUES ($1)", position)
        await checkpoints.advance(conn, "snap", Slot.LIVE, position)


async def test_a_read_with_the_checkpoints_unchanged_is_kept(pool: asyncpg.Pool) -> None:
    await _read_model(pool)
    calls = []

    async def run(session: ConnectionSession) -> tuple[int, int]:
        calls.append(session)
        return await session.run(_count), await session.run(_count)

    async with pool.acquire() as conn:
        tag = await live_tag(conn)
        assert await ConsistentReads().read(conn, tag, run) == (tag, (1, 1))
        assert not conn.is_in_transaction()
    assert len(calls) == 1


async def test_a_batch_committing_between_statements_makes_the_read_run_in_a_snapshot(
    pool: asyncpg.Pool,
) -> None:
    await _read_model(pool)
    now = [100.0]
    reads = ConsistentReads(calm_seconds=1.0, clock=lambda: now[0])
    in_snapshot: list[bool] = []
    batches: list[str] = []  # the live checkpoints after each batch

    async def run(session: ConnectionSession) -> tuple[int, int]:
        before = await session.run(_count)
        in_snapshot.append(await session.run(_in_transaction))
        await _batch(pool, 11 + len(batches))  # commits on another connection meanwhile
        batches.append(await _live_tag(pool))
        return before, await session.run(_count)

    async with pool.acquire() as conn:
        tag = await live_tag(conn)
        moved, counts = await reads.read(conn, tag, run)
        assert not conn.is_in_transaction()
        assert in_snapshot == [False, True]
        assert counts == (2, 2)  # one state: the one after the first batch
        assert moved == batches[0] != tag

        # The projections are busy: for a second, reads take a snapshot at once.
        in_snapshot.clear()
        now[0] += 0.5
        tag = await live_tag(conn)
        assert await reads.read(conn, tag, run) == (tag, (3, 3))
        assert in_snapshot == [True]

        in_snapshot.clear()
        now[0] += 1.0
        tag = await live_tag(conn)
        assert await reads.read(conn, tag, run) == (batches[-2], (5, 5))  # read twice
        assert in_snapshot == [False, True]


async def _live_tag(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        return await live_tag(conn)


async def _in_transaction(conn: Connection) -> bool:
    return conn.is_in_transaction()


async def test_a_read_without_statements_reads_no_checkpoints(pool: asyncpg.Pool) -> None:
    async def run(session: ConnectionSession) -> str:
        return "no statements"

    async with pool.acquire() as conn:  # no checkpoints table: reading it would fail
        assert await ConsistentReads().read(conn, "t", run) == ("t", "no statements")
