"""The Starlette application: routes, and the lifespan that opens the system."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

from analytics_graph.api import graphql_api, graphql_routes
from analytics_graph.api.engine import Completion
from analytics_graph.api.live.frames import RawSend
from analytics_graph.bootstrap import System, open_system
from analytics_graph.collector import quiet_collector
from analytics_graph.config import Settings
from analytics_graph.eventstore import EventStore
from analytics_graph.export.routes import export_routes
from analytics_graph.export.service import RequestScope
from analytics_graph.ingest.http import IngestEndpoint, ingest_routes
from analytics_graph.ingest.workers import IngestWorkers, WorkerConfig
from analytics_graph.observability.middleware import ObservabilityMiddleware
from analytics_graph.observability.probes import probe_routes
from analytics_graph.resources import raise_open_files_limit
from analytics_graph.web import web_routes

log = logging.getLogger(__name__)
YOUNG_GENERATION_THRESHOLD = 10_000


def create_app(
    settings: Settings,
    on_ready: Callable[[System], Coroutine[Any, Any, None]] | None = None,
    completion: Completion = "plans",
) -> Starlette:
    """The app; the system (database, store, ...) and the GraphQL API open in its
    lifespan. ``on_ready`` runs in the background once they are open (requests are
    served meanwhile), and is cancelled if the app stops first."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise_open_files_limit()  # a websocket subscriber holds a file descriptor
        async with (
            open_system(settings, run_projections=settings.run_projections) as system,
            contextlib.AsyncExitStack() as stack,
        ):
            app.state.system = system
            app.state.graphql = graphql_api(system.services, system.secret, completion)
            ingest_store = EventStore(
                system.pool, system.notifier, acquire_timeout=settings.database_acquire_timeout
            )
            workers = await stack.enter_async_context(_ingest_workers(settings, system.url))
            app.state.ingest = IngestEndpoint(settings, ingest_store, system.secret, workers)
            # What startup built (schema, pools, caches) lives as long as the process:
            # out of the collector's sight, full collections stop scanning it (a full
            # collection in the middle of a request was most of the API's p99).
            # A request's data goes by reference counting (no cycles hold it: tested), so
            # a young collection only traces the live objects of requests in flight; at
            # the default (every 700 net allocations) that was about one collection per
            # dashboard answer.
            with quiet_collector(YOUNG_GENERATION_THRESHOLD):
                async with _background(on_ready(system) if on_ready else None):
                    yield
            await stack.aclose()  # the ingest workers, after the requests they serve
            if system.projections is not None:  # at a batch boundary (a SIGTERM)
                await system.projections.stop(grace=settings.shutdown_grace_seconds)

    routes = [*probe_routes(), *graphql_routes(), *ingest_routes(), *export_routes()]
    return Starlette(
        routes=[*routes, *web_routes()],
        middleware=[
            Middleware(RawSend),  # the outermost: sees the server's own send
            Middleware(ObservabilityMiddleware),
            Middleware(RequestScope),
        ],
        lifespan=lifespan,
    )


@contextlib.asynccontextmanager
async def _ingest_workers(settings: Settings, url: str) -> AsyncIterator[IngestWorkers | None]:
    """The worker processes of ``POST /ingest`` (``settings.ingest_processes``; none: 0),
    running while the block runs."""
    if not settings.ingest_processes:
        yield None
        return
    config = WorkerConfig(
        database_url=url,
        max_batch=settings.max_ingest_batch,
        max_line_bytes=settings.ingest_max_line_bytes,
        remembered_ids=settings.ingest_remembered_ids,
        shown_rejections=settings.ingest_max_shown_rejections,
        pool_max_size=min(settings.pool_max_size, 4),
        connect_timeout=settings.database_connect_timeout,
        acquire_timeout=settings.database_acquire_timeout,
        statement_timeout=settings.statement_timeout,
        mode=settings.mode.value,
    )
    workers = IngestWorkers(config, settings.ingest_processes)
    try:
        await workers.start()
        yield workers
    finally:
        await workers.close(grace=settings.shutdown_grace_seconds)


@contextlib.asynccontextmanager
async def _background(work: Coroutine[Any, Any, None] | None) -> AsyncIterator[None]:
    """Runs ``work`` while the block runs; logs its failure, cancels it at the end."""
    task = None if work is None else asyncio.create_task(work, name="on-ready")
    if task is not None:
        task.add_done_callback(_log_failure)
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # a failure was logged when it happened


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the on-ready work failed", exc_info=task.exception())
