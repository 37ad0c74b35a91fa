"""The GraphQL API: the schema, its root types, and its two ways in (HTTP, websockets).

Layout, one concern per folder:

- ``schema.py``, ``queries.py``, ``mutations.py``, ``subscriptions.py``: the schema
  and its root types; ``types/``: the Strawberry types of the contract;
- ``http/``: the ``/graphql`` endpoint, GraphQL over HTTP, websockets, the answer cache;
- ``engine/``: parsing and validation cache, limits, execution and masking (the only
  place that touches graphql-core's or Strawberry's private internals);
- ``reads/``: how a request reads one state of the read models, read-your-writes,
  loaders;
- ``context.py``, ``services.py``, ``access.py``, ``errors.py``: what every resolver
  uses: the request's context, the running system, who may read what, client errors.

The API is handed the running system (:class:`Services`, built by the composition
root ``bootstrap.open_system``) and never builds or imports it::

    graphql = graphql_api(system.services, settings)
    app.state.graphql = graphql     # the routes of graphql_routes() find it there
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from analytics_graph.api.engine import AnalyticsSchema, Completion
from analytics_graph.api.http.endpoint import GraphQLEndpoint
from analytics_graph.api.http.websocket import SubscriptionsApp
from analytics_graph.api.schema import build_schema
from analytics_graph.api.services import Services
from analytics_graph.config import Mode

PATH = "/graphql"


@dataclass(frozen=True, slots=True)
class GraphQLService:
    """The schema and the two ways in: HTTP and websockets."""

    schema: AnalyticsSchema
    services: Services
    http: GraphQLEndpoint
    websocket: SubscriptionsApp


def graphql_api(
    services: Services, secret: str, completion: Completion = "plans"
) -> GraphQLService:
    """The API over a running system; ``secret`` verifies the bearer tokens;
    ``completion`` is the engine's way of completing plain data (benchmarks compare)."""
    schema = build_schema(services.mode, services.limits, completion)
    return GraphQLService(
        schema=schema,
        services=services,
        http=GraphQLEndpoint(schema, services, secret, ide=services.mode is Mode.DEVELOPMENT),
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
