"""Where the PostgreSQL server comes from, and the connection pool to it.

With a DSN configured we connect to it. Without one we start the embedded
server from the ``pgserver`` wheel in the data folder and stop it on exit, so
``analytics-graph serve`` works on a machine with nothing installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import eventsourcing.persistence as eventsourcing_persistence

from analytics_graph.config import Settings

log = logging.getLogger(__name__)

Pool = asyncpg.Pool  # "asyncpg.Pool[asyncpg.Record]" in annotations


@contextlib.contextmanager
def embedded_server(data_dir: Path) -> Iterator[str]:
    """Starts (or reuses) the embedded PostgreSQL in ``data_dir/pgdata``; yields its DSN.

    The server is stopped when the block exits, unless another process of ours
    still uses it (pgserver counts its users).
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here
        warnings.simplefilter("ignore")
        # imported here: it is slow and only the embedded mode needs it
        from pgserver.postgres_server import get_server

    pgdata = data_dir.resolve() / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


@contextlib.asynccontextmanager
async def database_url(settings: Settings) -> AsyncIterator[str]:
    """Yields the DSN to use: the configured one, or the embedded server's."""
    if settings.database_url:
        yield settings.database_url
        return
    cm = embedded_server(settings.data_dir)
    url = await asyncio.to_thread(cm.__enter__)
    log.info("embedded PostgreSQL running in %s", settings.data_dir)
    try:
        yield url
    finally:
        await asyncio.to_thread(cm.__exit__, None, None, None)


def with_database(url: str, name: str) -> str:
    """``url`` naming the database ``name`` instead (its query parameters kept)."""
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{base}/{name}" + (f"?{query}" if query else "")


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database ``<prefix>_<random>`` on the server of ``server_url``; its
    DSN. Dropped (closing its connections) when the block exits: what ``audit replay``
    replays into, and what the tests and benchmarks run in."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _no_reset(conn: Any) -> None:
    """Replaces asyncpg's per-release reset query: our connections carry no session state."""


POOL_SETTINGS: dict[str, str] = {
    "application_name": "analytics-graph",
    # JIT compiles per statement; our statements are short and many, and on an
    # unanalysed log the planner's estimates made it compile on every batch.
    "jit": "off",
    # No parallel workers: on read models of 10M events the planner chose a Gather with
    # two workers for a video's 28-day statement (sub-millisecond branches): starting
    # them took 6 of its 8 ms, and 8 concurrent requests started 16 processes.
    "max_parallel_workers_per_gather": "0",
}


async def create_pool(
    url: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    connect_timeout: float = 5.0,
    command_timeout: float | None = None,
) -> asyncpg.Pool:
    """A pool whose connections skip the reset query on release (~30% of a small write).

    ``connect_timeout`` bounds each new connection (a server that does not answer
    fails fast instead of hanging a request); ``command_timeout`` (``None``: none)
    bounds each statement on the client side (the statement is cancelled). With
    ``min_size=0`` nothing connects until the first ``acquire`` (a replica may be
    away when the process starts)."""
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        reset=_no_reset,
        timeout=connect_timeout,
        command_timeout=command_timeout,
        server_settings=POOL_SETTINGS,
    )
    assert pool is not None
    return pool


CLOSE_GRACE = 5.0


async def close_pool(pool: asyncpg.Pool, grace: float = CLOSE_GRACE) -> None:
    """Closes ``pool`` gracefully, or terminates it after ``grace`` seconds: a
    connection that is never released (asyncpg can lose one to a cancellation at the
    wrong moment of an acquire) would otherwise make the close wait forever."""
    try:
        await asyncio.wait_for(pool.close(), grace)
    except TimeoutError:
        pool.terminate()


_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable; TimeoutError (connect, acquire, statement) too
    asyncpg.InterfaceError,  # the connection was closed under us
    asyncpg.InternalClientError,  # asyncpg's state after a connection died mid-operation
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.OperatorInterventionError,  # 57: shutting down, starting up, statement timeout
    asyncpg.InsufficientResourcesError,  # 53: too many connections, out of memory or disk
    eventsourcing_persistence.OperationalError,  # the same, from the application's recorder
    eventsourcing_persistence.InterfaceError,
)


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or an exception it was raised from) means the database is
    unreachable, restarting or saturated: a failure worth retrying shortly, not a bug."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, _OUTAGES):
            return True
        seen.add(id(current))
        suppressed = current.__cause__ is not None or current.__suppress_context__
        current = current.__cause__ if suppressed else current.__context__
    return False
