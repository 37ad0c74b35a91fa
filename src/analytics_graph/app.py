"""The Starlette application: routes, and the lifespan that opens the system."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from analytics_graph.api import graphql_routes, graphql_service
from analytics_graph.bootstrap import System, open_system
from analytics_graph.config import Settings


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
    settings: Settings, on_ready: Callable[[System], Awaitable[None]] | None = None
) -> Starlette:
    """The app; the system (database, store, ...) and the GraphQL API open in its
    lifespan. ``on_ready`` runs once they are open, before requests are served."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_system(settings) as system, graphql_service(system) as graphql:
            app.state.system = system
            app.state.graphql = graphql
            if on_ready is not None:
                await on_ready(system)
            # What startup built (schema, pools, caches) lives as long as the process:
            # out of the collector's sight, full collections stop scanning it (a full
            # collection in the middle of a request was most of the API's p99).
            gc.collect()
            gc.freeze()
            yield

    return Starlette(routes=[Route("/healthz", healthz), *graphql_routes()], lifespan=lifespan)
