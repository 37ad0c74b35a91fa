"""The GraphQL API: Strawberry types, queries, mutations, subscriptions, context, loaders.

Usage (in the app's lifespan)::

    async with graphql_service(system) as graphql:
        app.state.graphql = graphql     # the routes of graphql_routes() find it there
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from analytics_graph.api.endpoint import GraphQLEndpoint
from analytics_graph.api.schema import AnalyticsSchema, build_schema
from analytics_graph.api.services import Limits, Services
from analytics_graph.api.websocket import SubscriptionsApp
from analytics_graph.auth import signing_secret
from analytics_graph.bootstrap import System
from analytics_graph.config import Mode
from analytics_graph.ingest import Ingestor
from analytics_graph.projection.notices import change_feed
from analytics_graph.webhooks import policy as webhook_policy
from projections import ALL as PROJECTIONS

PATH = "/graphql"


@dataclass(frozen=True, slots=True)
class GraphQLService:
    """The schema and the two ways in: HTTP and websockets."""

    schema: AnalyticsSchema
    services: Services
    http: GraphQLEndpoint
    websocket: SubscriptionsApp


@contextlib.asynccontextmanager
async def graphql_service(
    system: System, limits: Limits | None = None
) -> AsyncIterator[GraphQLService]:
    """The API over a running system, with its change feed open while the block runs."""
    settings = system.settings
    limits = limits or Limits(max_batch=settings.max_ingest_batch)
    secret = signing_secret(settings)
    async with change_feed(system.url) as feed:
        services = Services(
            mode=settings.mode,
            limits=limits,
            pool=system.pool,
            store=system.store,
            commands=system.commands,
            ingestor=Ingestor(system.store, max_batch=limits.max_batch),
            listener=system.listener,
            feed=feed,
            projections=PROJECTIONS,
            webhook_policy=webhook_policy(settings),
            live_interval=settings.subscription_interval_seconds,
            live_send_timeout=settings.subscription_send_timeout_seconds,
        )
        schema = build_schema(settings.mode, limits)
        yield GraphQLService(
            schema=schema,
            services=services,
            http=GraphQLEndpoint(schema, services, secret, ide=settings.mode is Mode.DEVELOPMENT),
            websocket=SubscriptionsApp(schema, services, secret),
        )


async def _http(request: Request) -> Response:
    service: GraphQLService = request.app.state.graphql
    return await service.http(request)


async def _websocket(websocket: WebSocket) -> None:
    service: GraphQLService = websocket.app.state.graphql
    await service.websocket(websocket.scope, websocket.receive, websocket.send)


def graphql_routes() -> list[BaseRoute]:
    """``GET``/``POST`` and websocket routes at ``/graphql``."""
    return [
        Route(PATH, _http, methods=["GET", "POST"]),
        WebSocketRoute(PATH, _websocket),
    ]
