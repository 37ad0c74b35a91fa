"""The composition root: one async context manager builds every part.

The Starlette lifespan, the CLI and the tests all go through :func:`open_system`;
nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

import projections
from analytics_graph.alerts import Evaluator, EvaluatorOptions
from analytics_graph.application import PERSISTENCE_MODULE, AnalyticsApplication
from analytics_graph.commands import Commands
from analytics_graph.config import Settings
from analytics_graph.database import create_pool, database_url
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener, Notifier
from analytics_graph.eventstore.persistence import DATABASE_URL
from analytics_graph.eventstore.schema import migrate
from analytics_graph.projection import ProjectionRunner
from analytics_graph.webhooks import WebhookService


@dataclass(frozen=True, slots=True)
class System:
    """The running parts, each with the lifetime of the enclosing ``open_system`` block."""

    settings: Settings
    url: str
    pool: asyncpg.Pool
    store: EventStore
    notifier: Notifier
    listener: Listener
    commands: Commands
    projections: ProjectionRunner | None
    """Keeps the read models following the log (``None`` when opened without it)."""
    webhooks: WebhookService | None = None
    """Dispatches and sends webhooks (runs when the projections do)."""


@contextlib.asynccontextmanager
async def running_application(url: str) -> AsyncIterator[Commands]:
    """The eventsourcing application on ``url`` (its own pool and thread), closed on exit."""
    env = {"PERSISTENCE_MODULE": PERSISTENCE_MODULE, DATABASE_URL: url}
    application = await asyncio.to_thread(AnalyticsApplication, env=env)
    try:
        yield Commands(application)
    finally:
        await asyncio.to_thread(application.close)


@contextlib.asynccontextmanager
async def open_system(settings: Settings, *, run_projections: bool = True) -> AsyncIterator[System]:
    """Starts the database (embedded if no DSN), migrates, and yields the parts.

    With ``run_projections`` (the default) the projection runner works while the
    block runs; its read models' tables exist when the block starts.
    """
    async with database_url(settings) as url:
        pool = await create_pool(
            url, min_size=settings.pool_min_size, max_size=settings.pool_max_size
        )
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            async with (
                Notifier(url) as notifier,
                Listener(url) as listener,
                running_application(url) as commands,
            ):
                store = EventStore(pool, notifier)
                runner = ProjectionRunner(url, store, listener, projections.ALL)
                webhooks = WebhookService.of(settings, url, store, pool, listener)
                alerts = Evaluator(url, store, listener, EvaluatorOptions())
                if run_projections:
                    await runner.start()
                    await webhooks.start()
                    await alerts.start()
                try:
                    yield System(
                        settings=settings,
                        url=url,
                        pool=pool,
                        store=store,
                        notifier=notifier,
                        listener=listener,
                        commands=commands,
                        projections=runner if run_projections else None,
                        webhooks=webhooks if run_projections else None,
                    )
                finally:
                    await alerts.stop()
                    await webhooks.stop()
                    await runner.stop()
        finally:
            await pool.close()
