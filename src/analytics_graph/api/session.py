"""Where a request's read-model queries run.

A query request runs all its statements on one connection inside one
``REPEATABLE READ READ ONLY`` transaction (:func:`snapshot`), so every number
in an answer comes from the same state of the read models, the state the
projections' checkpoints in that snapshot describe. Mutations and subscription
updates read through the pool (:class:`PoolSession`), one statement at a time.

Sessions count their statements, so tests can check that an answer costs a
handful of statements whatever its size.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import asyncpg

from analytics_graph.types import Connection

P = ParamSpec("P")
R = TypeVar("R")


class Session(Protocol):
    """Runs read-model query functions (``fn(conn, *args)``), counting them."""

    statements: int

    async def run(
        self,
        fn: Callable[Concatenate[Connection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...


class ConnectionSession:
    """Runs queries one after the other on a single connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.statements = 0

    async def run(
        self,
        fn: Callable[Concatenate[Connection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        async with self._lock:  # one connection runs one statement at a time
            self.statements += 1
            return await fn(self._conn, *args, **kwargs)


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
        self.statements += 1
        async with self._pool.acquire() as conn:
            return await fn(conn, *args, **kwargs)


@contextlib.asynccontextmanager
async def snapshot(conn: Connection) -> AsyncIterator[ConnectionSession]:
    """A session reading one consistent snapshot; the transaction ends with the block."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        yield ConnectionSession(conn)
