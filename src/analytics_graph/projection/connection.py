"""The dedicated connection a projection worker holds, and its advisory locks.

A worker does all its work on one connection of its own (not from the pool):
its session advisory lock says "this projection is being worked on", and it is
released by PostgreSQL the moment the connection or the process dies, which is
what lets another process take over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from analytics_graph.projection.checkpoints import Slot
from analytics_graph.types import Connection

SESSION_SETTINGS = {
    "application_name": "analytics-graph-projection",
    "TimeZone": "UTC",
    # Batch statements sort and hash tens of thousands of rows: keep that in memory.
    "work_mem": "64MB",
    # JIT compilation costs more than it saves on these batch-sized statements.
    "jit": "off",
}


@contextlib.asynccontextmanager
async def dedicated_connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection for one worker; on exit it is closed, or terminated when the exit
    is abnormal (so the server rolls back anything in flight and drops the locks)."""
    conn = await asyncpg.connect(url, server_settings=SESSION_SETTINGS)
    try:
        yield conn
    except BaseException:
        conn.terminate()
        raise
    else:
        await conn.close(timeout=5)


def lock_name(projection: str, slot: Slot) -> str:
    return f"analytics_graph.projection.{projection}.{slot.value}"


async def try_lock(conn: Connection, projection: str, slot: Slot) -> bool:
    """Takes the session advisory lock of ``projection``/``slot`` if it is free."""
    return bool(
        await conn.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", lock_name(projection, slot)
        )
    )


async def unlock(conn: Connection, projection: str, slot: Slot) -> None:
    await conn.execute(
        "SELECT pg_advisory_unlock(hashtextextended($1, 0))", lock_name(projection, slot)
    )


async def wait_for_lock(conn: Connection, projection: str, slot: Slot, interval: float) -> None:
    """Polls until the lock is ours (every ``interval`` seconds)."""
    while not await try_lock(conn, projection, slot):  # noqa: ASYNC110 - the server holds the state
        await asyncio.sleep(interval)
