"""The graphql-transport-ws handler: shared metric subscriptions, and token expiry.

A subclass of Strawberry's handler (its private parts are used here only):

* a subscription :func:`~analytics_graph.api.live.hub.shareable` joins its
  :class:`~analytics_graph.api.live.hub.Group` instead of running on its own; its
  ``next`` messages are the group's payload text in this operation's envelope,
  written straight to the connection when the server allows it (``frames.py``),
  else sent through the ASGI stack;
* when the token of the connection expires (its ``exp`` plus the verifier's leeway),
  every operation ends with an ``error`` message (code ``UNAUTHENTICATED``) and the
  connection is closed with 4403, as the protocol does for a refused token.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from functools import partial
from typing import Any, cast

import orjson
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)
from strawberry.types.execution import PreExecutionError

from analytics_graph.api.context import Context
from analytics_graph.api.live.frames import Write, frame_writer
from analytics_graph.api.live.hub import SLOW_CLIENT, Hub, key_of, shareable
from analytics_graph.auth import LEEWAY_SECONDS, token_expiry

EXPIRED = {"message": "the token has expired", "extensions": {"code": "UNAUTHENTICATED"}}
FORBIDDEN = 4403


def bearer(params: dict[str, Any] | None, headers: Any) -> str | None:
    """The token of a connection (``connection_init`` payload first, then the handshake)."""
    value = None
    for name, given in (params or {}).items():
        if name.lower() == "authorization" and isinstance(given, str):
            value = given
    if value is None:
        header = headers.get("authorization")
        value = header if isinstance(header, str) else None
    if value is None or not value.lower().startswith("bearer "):
        return None
    return value[7:].strip()


class LiveHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """See the module docstring. ``self.view.hub`` is the process's :class:`Hub`."""

    _expiry: asyncio.Task[None] | None = None
    _writer: Write | None = None
    _writer_looked_up = False

    @property
    def hub(self) -> Hub:
        hub: Hub = cast(Any, self.view).hub
        return hub

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if not self.connection_acknowledged:
            return
        token = bearer(self.context.connection_params, self.context.connection_headers)
        expires = None if token is None else token_expiry(token)
        if expires is not None:
            delay = expires + LEEWAY_SECONDS - time.time()
            self._expiry = asyncio.create_task(self._expire_after(delay), name="token-expiry")

    async def _expire_after(self, delay: float) -> None:
        await asyncio.sleep(max(delay, 0.0))
        for operation in list(self.operations.values()):
            with contextlib.suppress(Exception):
                await operation.send_operation_message(
                    cast(Message, {"id": operation.id, "type": "error", "payload": [EXPIRED]})
                )
        await self.websocket.close(code=FORBIDDEN, reason="Forbidden: the token has expired")

    async def shutdown(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        await super().shutdown()

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        caller = self.context.caller
        if caller is None or not shareable(operation.query, operation.operation_name):
            await super().run_operation(operation)
            return
        key = key_of(operation.query, operation.variables, operation.operation_name, caller)
        envelope = b'{"id":' + orjson.dumps(operation.id) + b',"type":"next","payload":'
        writer = self._frame_writer()
        write = None if writer is None else partial(self._write_next, operation, envelope, writer)
        try:
            with self.hub.joined(
                key, caller, partial(self._send_next, operation, envelope), write
            ) as member:
                await member.finished()
        except TimeoutError:
            # Out of the group first: the close frame itself waits behind what the
            # client has not read, and is sent once it reads (or the connection dies).
            await self.websocket.close(code=SLOW_CLIENT, reason="the client cannot keep up")
            return
        outcome = member.outcome
        if isinstance(outcome, PreExecutionError):
            with contextlib.suppress(_OperationStreamClosed):
                await self._handle_pre_execution_error(operation, outcome)
            return
        if outcome is not None:
            await operation.send_next(outcome)
        await operation.send_operation_message(
            cast(Message, {"id": operation.id, "type": "complete"})
        )

    def _frame_writer(self) -> Write | None:
        if not self._writer_looked_up:
            self._writer_looked_up = True
            scope = getattr(getattr(self.websocket, "ws", None), "scope", None)
            self._writer = None if scope is None else frame_writer(scope)
        return self._writer

    @staticmethod
    def _write_next(
        operation: Operation[Context, None], envelope: bytes, write: Write, payload: bytes
    ) -> bool:
        if operation.completed:
            return True  # nothing to send, as in _send_next
        return write(envelope + payload + b"}")

    async def _send_next(
        self, operation: Operation[Context, None], envelope: bytes, payload: bytes
    ) -> None:
        if not operation.completed:
            message = (envelope + payload + b"}").decode()
            await self.send_message(cast(Message, message))
