"""The event store alone, opened: the database, a pool, the migrations, the notifier.

What every process that writes the log needs. ``bootstrap.open_system`` builds
the rest of the system on it; ``analytics-graph ingest`` needs nothing more, so
it starts without importing the API, the projections or the eventsourcing
application (collectors start it often).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from analytics_graph.config import Settings
from analytics_graph.database import create_pool, database_url
from analytics_graph.eventstore.notify import Notifier
from analytics_graph.eventstore.schema import migrate
from analytics_graph.eventstore.store import EventStore


@dataclass(frozen=True, slots=True)
class OpenStore:
    """The parts :func:`open_store` yields, each with the lifetime of its block."""

    url: str
    pool: asyncpg.Pool
    store: EventStore
    notifier: Notifier


@contextlib.asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[OpenStore]:
    """Starts the database (embedded if no DSN), migrates, and yields the store,
    whose appends wake the readers of the log (``notifier``)."""
    async with database_url(settings) as url:
        pool = await create_pool(
            url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            connect_timeout=settings.database_connect_timeout,
            command_timeout=settings.statement_timeout,
        )
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            async with Notifier(url) as notifier:
                yield OpenStore(url, pool, EventStore(pool, notifier), notifier)
        finally:
            await pool.close()
