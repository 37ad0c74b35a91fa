"""The Starlette application: routes, and the lifespan that opens the system."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from analytics_graph.api import graphql_routes, graphql_service
from analytics_graph.bootstrap import System, open_system
from analytics_graph.config import Settings
from analytics_graph.resources import raise_open_files_limit

log = logging.getLogger(__name__)
YOUNG_GENERATION_THRESHOLD = 10_000


async def healthz(request: Request) -> JSONResponse:
    """200 with the log's position when the database answers, 503 otherwise."""
    system: System = request.app.state.system
    try:
        async with system.pool.acquire(timeout=2) as conn:
            position = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
    except Exception as exc:  # any failure here means "not healthy", reported as such
        return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "position": position})


def create_app(
    settings: Settings, on_ready: Callable[[System], Coroutine[Any, Any, None]] | None = None
) -> Starlette:
    """The app; the system (database, store, ...) and the GraphQL API open in its
    lifespan. ``on_ready`` runs in the background once they are open (requests are
    served meanwhile), and is cancelled if the app stops first."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise_open_files_limit()  # a websocket subscriber holds a file descriptor
        async with open_system(settings) as system, graphql_service(system) as graphql:
            app.state.system = system
            app.state.graphql = graphql
            # What startup built (schema, pools, caches) lives as long as the process:
            # out of the collector's sight, full collections stop scanning it (a full
            # collection in the middle of a request was most of the API's p99).
            gc.collect()
            gc.freeze()
            # A request's data goes by reference counting (no cycles hold it: tested), so
            # a young collection only traces the live objects of requests in flight; at
            # the default (every 700 net allocations) that was about one collection per
            # dashboard answer. The interpreter's other two thresholds stay as they are.
            _, middle, old = gc.get_threshold()
            gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
            async with _background(on_ready(system) if on_ready else None):
                yield

    return Starlette(routes=[Route("/healthz", healthz), *graphql_routes()], lifespan=lifespan)


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
