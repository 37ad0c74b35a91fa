"""The query session on real PostgreSQL: one read-only snapshot, always ended."""

from __future__ import annotations

import asyncpg
import pytest

from analytics_graph.api.session import snapshot
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
