"""The composition root: one async context manager builds every part.

The Starlette lifespan, the CLI and the tests all go through :func:`open_system`;
nothing connects at import time. Everything with a lifetime is opened here (the
pool, the store's notifier and listener, the eventsourcing application, the
projection runner, the change feed) and handed down: the API receives
:class:`~analytics_graph.api.services.Services` and never builds any of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

import projections
from analytics_graph.alerts import Evaluator, EvaluatorOptions
from analytics_graph.api.engine.limits import Limits
from analytics_graph.api.services import Services
from analytics_graph.application import PERSISTENCE_MODULE, AnalyticsApplication
from analytics_graph.audit.heads import signer
from analytics_graph.audit.sealer import Sealer
from analytics_graph.auth import signing_secret
from analytics_graph.commands import Commands
from analytics_graph.config import Settings
from analytics_graph.eventstore import EventStore, partitions
from analytics_graph.eventstore.notify import Listener, Notifier
from analytics_graph.eventstore.persistence import DATABASE_URL
from analytics_graph.ingest import Ingestor
from analytics_graph.projection import ChangeFeed
from analytics_graph.projection.notices import change_feed
from analytics_graph.projection.threaded import RunnerThread
from analytics_graph.replication import ReadPools
from analytics_graph.storage import open_store
from analytics_graph.webhooks import WebhookService
from analytics_graph.webhooks import policy as webhook_policy


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
    projections: RunnerThread | None
    """Keeps the read models following the log (``None`` when opened without it)."""
    ingestor: Ingestor
    services: Services
    """What the API is handed: the parts above, the limits, the change feed, the
    read pools (the primary's, and one per replica in ``settings.read_database_urls``)."""
    secret: str
    """Signs and verifies bearer tokens."""
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

    With ``run_projections`` (the default: the server) the projection runner works
    while the block runs, its read models' tables exist when the block starts, and
    the change feed (which subscriptions follow) is listening; without it (the
    command line's ingest and projection commands) neither runs.
    """
    async with (
        open_store(settings) as opened,
        Listener(opened.url) as listener,
        running_application(opened.url) as commands,
    ):
        url, pool, store, notifier = opened.url, opened.pool, opened.store, opened.notifier
        runner = RunnerThread(url, projections.ALL)  # its own loop: see threaded.py
        sealer = Sealer(url, signer(settings), listener)  # audit: seals the log
        webhooks = WebhookService.of(settings, url, store, pool, listener)
        alerts = Evaluator(url, store, listener, EvaluatorOptions())
        upkeep: asyncio.Task[None] | None = None
        if run_projections:
            await runner.start()
            await sealer.start()
            await webhooks.start()
            await alerts.start()
            upkeep = asyncio.create_task(partitions.keep_ahead(pool), name="log partitions")
        names = [p.name for p in projections.ALL]
        try:
            async with (
                _feed(url, run_projections) as feed,
                ReadPools.opened(
                    pool,
                    settings.read_database_urls,
                    names,
                    max_size=settings.pool_max_size,
                    acquire_timeout=settings.database_acquire_timeout,
                ) as reads,
            ):
                limits = limits_of(settings)
                ingestor = Ingestor.configured(store, settings)
                services = Services(
                    mode=settings.mode,
                    limits=limits,
                    pool=pool,
                    store=store,
                    commands=commands,
                    ingestor=ingestor,
                    listener=listener,
                    feed=feed,
                    projections=projections.ALL,
                    webhook_policy=webhook_policy(settings),
                    live_interval=settings.subscription_interval_seconds,
                    live_send_timeout=settings.subscription_send_timeout_seconds,
                    reads=reads,
                )
                yield System(
                    settings=settings,
                    url=url,
                    pool=pool,
                    store=store,
                    notifier=notifier,
                    listener=listener,
                    commands=commands,
                    projections=runner if run_projections else None,
                    ingestor=ingestor,
                    services=services,
                    secret=signing_secret(settings),
                    webhooks=webhooks if run_projections else None,
                )
        finally:
            if upkeep is not None:
                upkeep.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await upkeep
            await alerts.stop()
            await webhooks.stop()
            await sealer.stop()
            await runner.stop()


@contextlib.asynccontextmanager
async def _feed(url: str, listening: bool) -> AsyncIterator[ChangeFeed | None]:
    if not listening:
        yield None
        return
    async with change_feed(url) as feed:
        yield feed


def limits_of(settings: Settings) -> Limits:
    """The API's limits, with the parts the settings name."""
    return Limits(
        max_batch=settings.max_ingest_batch,
        acquire_timeout=settings.database_acquire_timeout,
        ws_init_timeout=settings.websocket_init_timeout,
        ws_max_message_bytes=settings.websocket_max_message_bytes,
        ws_max_operations=settings.websocket_max_operations,
    )
