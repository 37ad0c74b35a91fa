"""Where a request's read-model queries run.

A query request runs all its statements on one connection inside one
``REPEATABLE READ READ ONLY`` transaction (:func:`snapshot`), so every number
in an answer comes from the same state of the read models, the state the
projections' checkpoints in that snapshot describe. Mutations and subscription
updates read through the pool (:class:`PoolSession`), one statement at a time.

Sessions count the SQL statements their queries send, so tests can check that
an answer costs a handful of statements whatever its size.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

import asyncpg

from analytics_graph.types import Connection

P = ParamSpec("P")
BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
R = TypeVar("R")


class Counted:
    """A connection that counts the statements sent through it (all else passes through)."""

    COUNTED = frozenset({"fetch", "fetchrow", "fetchval", "execute", "executemany"})

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.statements = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._conn, name)
        if name in self.COUNTED:
            self.statements += 1
        return attribute


class Session(Protocol):
    """Runs read-model query functions (``fn(conn, *args)``), counting their statements."""

    @property
    def statements(self) -> int:
        """SQL statements sent so far."""
        ...

    async def run(
        self,
        fn: Callable[Concatenate[Connection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...


class ConnectionSession:
    """Runs queries one after the other on a single connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = Counted(conn)
        self._lock = asyncio.Lock()

    @property
    def statements(self) -> int:
        return self._conn.statements

    async def run(
        self,
        fn: Callable[Concatenate[Connection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        async with self._lock:  # one connection runs one statement at a time
            return await fn(cast(Connection, self._conn), *args, **kwargs)


class PoolSession:
    """Runs each query on a connection borrowed from the pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.statements = 0

    async def run(
        self,
        fn: Callable[Concatenate[Connection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        async with self._pool.acquire() as conn:
            counted = Counted(conn)
            try:
                return await fn(cast(Connection, counted), *args, **kwargs)
            finally:
                self.statements += counted.statements


@contextlib.asynccontextmanager
async def snapshot(conn: Connection) -> AsyncIterator[ConnectionSession]:
    """A session reading one consistent snapshot; the transaction ends with the block.

    Plain ``BEGIN`` / ``COMMIT`` statements: asyncpg's transaction manager (savepoints,
    state checks) cost a read-only request more than the statements themselves. An
    error inside rolls back before it propagates."""
    await conn.execute(BEGIN_SNAPSHOT)
    try:
        yield ConnectionSession(conn)
    except BaseException:
        if not conn.is_closed():
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
