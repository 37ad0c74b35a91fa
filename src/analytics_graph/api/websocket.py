"""Subscriptions over a websocket at ``/graphql`` (graphql-transport-ws).

The token goes in the ``connection_init`` payload (``{"Authorization": "Bearer
..."}``) or in the handshake's ``Authorization`` header; a bad token closes
the connection with 4403. Each operation on the connection reads afresh.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from analytics_graph.api.context import Context
from analytics_graph.api.endpoint import caller_of
from analytics_graph.api.live.handler import LiveHandler
from analytics_graph.api.live.hub import Hub
from analytics_graph.api.protocol import RequestError
from analytics_graph.api.schema import AnalyticsSchema
from analytics_graph.api.services import Services
from analytics_graph.api.session import PoolSession
from analytics_graph.auth import TokenVerifier


def _authorization(params: dict[str, Any] | None, headers: Any) -> str | None:
    for name, value in (params or {}).items():
        if name.lower() == "authorization" and isinstance(value, str):
            return value
    value = headers.get("authorization")
    return value if isinstance(value, str) else None


class SubscriptionsApp(GraphQL[Context, None]):
    """Strawberry's ASGI view, used for websockets only; metric subscriptions are
    shared (``api/live``)."""

    graphql_transport_ws_handler_class = LiveHandler

    def __init__(self, schema: AnalyticsSchema, services: Services, secret: str) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.services = services
        self.tokens = TokenVerifier(secret)
        self.hub = Hub(schema, services, services.live_interval, services.live_send_timeout)

    def encode_json(self, data: object) -> str | bytes:
        """Text as is (``api/live`` sends payloads serialised once for many), else JSON."""
        return data if isinstance(data, str) else super().encode_json(data)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            self.services,
            None,
            PoolSession(self.services.pool),
            connection_params={},
            connection_headers=dict(request.headers),
            shared=True,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        headers = context.connection_headers
        try:
            context.caller = caller_of(
                _authorization(context.connection_params, headers), self.tokens
            )
        except RequestError as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        return await super().on_ws_connect(context)
