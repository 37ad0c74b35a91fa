"""Subscriptions over a websocket at ``/graphql`` (graphql-transport-ws).

The token goes in the ``connection_init`` payload (``{"Authorization": "Bearer
..."}``) or in the handshake's ``Authorization`` header; a bad token closes
the connection with 4403. Each operation on the connection reads afresh.

Limits (``Limits.ws_*``): a connection that sends no ``connection_init`` within
``ws_init_timeout`` seconds is closed with 4408 (graphql-transport-ws); a message
over ``ws_max_message_bytes`` closes it with 4413 before it is decoded (the
server, ``analytics-graph serve``, also tells uvicorn, which then closes with
1009 without buffering it); at most ``ws_max_operations`` operations run at once
on one connection (another one is answered with an ``error`` message).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from analytics_graph.api.context import Context
from analytics_graph.api.engine import AnalyticsSchema
from analytics_graph.api.http.endpoint import caller_of
from analytics_graph.api.http.protocol import RequestError
from analytics_graph.api.live.handler import LiveHandler
from analytics_graph.api.live.hub import Hub
from analytics_graph.api.reads.snapshots import PoolSession
from analytics_graph.api.services import Services
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
        limits = services.limits
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=limits.ws_init_timeout),
            max_subscriptions_per_connection=limits.ws_max_operations,
        )
        self.services = services
        self.tokens = TokenVerifier(secret)
        self.hub = Hub(schema, services, services.live_interval, services.live_send_timeout)

    def encode_json(self, data: object) -> str | bytes:
        """Text as is (``api/live`` sends payloads serialised once for many), else JSON."""
        return data if isinstance(data, str) else super().encode_json(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        guard = SizeGuard(receive, send, self.services.limits.ws_max_message_bytes)
        await super().__call__(scope, guard.receive, guard.send)

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


class SizeGuard:
    """Closes a websocket with 4413 when a message over ``max_bytes`` arrives; the
    application then sees a disconnect, and what it sends afterwards is dropped."""

    def __init__(self, receive: Receive, send: Send, max_bytes: int) -> None:
        self._receive = receive
        self._send = send
        self.max_bytes = max_bytes
        self.closed = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "websocket.receive" and self._too_large(message):
            self.closed = True
            reason = f"message too large: at most {self.max_bytes} bytes"
            await self._send({"type": "websocket.close", "code": 4413, "reason": reason})
            return {"type": "websocket.disconnect", "code": 4413}
        return message

    async def send(self, message: Message) -> None:
        if not self.closed:
            await self._send(message)

    def _too_large(self, message: Message) -> bool:
        text, data = message.get("text"), message.get("bytes")
        size = len(text) if text is not None else len(data) if data is not None else 0
        # characters are at most 4 bytes: encode only what could be over the limit
        if text is not None and self.max_bytes // 4 < size <= self.max_bytes:
            size = len(text.encode("utf-8", "surrogatepass"))
        return size > self.max_bytes
