"""Where a request's read-model queries run.

Every number in a query's answer comes from one state of the read models
(:class:`ConsistentReads`): its statements run on one connection, and the
projections' live checkpoints are read before and after them. The read models
change only in a projection batch that moves its checkpoint in the same
transaction (and at a checkpoint they never change: the answer cache relies on
it too), so checkpoints unchanged across the statements mean that each of them
saw the state those checkpoints name. That costs one statement where a
``REPEATABLE READ`` transaction costs two (``BEGIN``, ``COMMIT``); when the
checkpoints did move meanwhile, the query runs again inside one
(:func:`snapshot`), and so do the queries of the next second: while the
projections are busy (a live firehose moves them every few milliseconds) a
snapshot from the start is cheaper than reading twice. Mutations and
subscription updates read through the pool (:class:`PoolSession`), one statement
at a time.

Sessions count the SQL statements their queries send, so tests can check that
an answer costs a handful of statements whatever its size.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

import asyncpg

from analytics_graph.projection.checkpoints import live_tag
from analytics_graph.types import Connection

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


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


class ConsistentReads:
    """Runs query reads, each from one state of the read models (see above)."""

    def __init__(
        self, calm_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.calm_seconds = calm_seconds
        """How long after checkpoints moved under a read the next reads take a snapshot."""
        self._clock = clock
        self._moved_at = -math.inf

    async def read(
        self, conn: Connection, tag: str, run: Callable[[ConnectionSession], Awaitable[T]]
    ) -> tuple[str, T]:
        """``run``'s result from one state of the read models, and the live checkpoints
        (:func:`live_tag`) naming that state or an earlier one (``tag``: read just
        before the call); ``run`` may be called twice.

        ``run`` sends its statements one by one; if the checkpoints still read ``tag``
        after them, no batch committed in between. Otherwise it runs again in a
        snapshot begun after the checkpoints were read anew. Within ``calm_seconds``
        of that, reads run in a snapshot at once."""
        if self._clock() - self._moved_at < self.calm_seconds:
            async with snapshot(conn) as session:
                return tag, await run(session)
        session = ConnectionSession(conn)
        value = await run(session)
        if session.statements == 0 or (moved := await live_tag(conn)) == tag:
            return tag, value
        self._moved_at = self._clock()
        async with snapshot(conn) as again:
            return moved, await run(again)
