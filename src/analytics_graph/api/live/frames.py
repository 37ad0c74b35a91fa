"""Text frames written straight to a websocket connection, for shared updates.

A shared subscription's update goes to thousands of subscribers in one round; on
the ASGI path each ``next`` message passes through about ten coroutines (the
protocol handler, Strawberry's and Starlette's websocket objects, the size guard,
two middleware wrappers, uvicorn's ``send``) before uvicorn frames it and writes
it to the socket (``bench/live.py``, 10,000 subscribers: about 42 us of the
process's CPU a send that way, about 22 us written here, nearly all of it the
socket write itself).

:class:`RawSend`, the app's outermost middleware, keeps the server's own ``send``
of each websocket in its scope. When that is uvicorn's sans-I/O websocket
protocol (``websockets_sansio_impl``, uvicorn's default with the ``websockets``
package installed), :func:`frame_writer` gives a function that writes a text
message as one frame straight to its transport, synchronously, doing what
uvicorn's ``send`` does for a ``websocket.send`` message, in the same order: the
protocol's state is checked first, and the function declines (returns ``False``:
the caller takes the ASGI path, which waits or raises as uvicorn does) unless the
connection is open, the handshake done, no close sent or received, nothing else
queued, the transport not paused by flow control (a client that does not read),
and no extension negotiated (a ``permessage-deflate`` client gets compressed
frames from uvicorn). Any other server, or a ``send`` wrapped by another
middleware, gets no writer: the ASGI path then, as before.

What the writer skips of the ASGI path does nothing to such a message: the size
guard drops sends only once it has closed the connection (the protocol's
``close_sent`` then), Starlette's state follows the same close, and the
observability middleware counts only ``complete`` and ``error`` messages.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

RAW_SEND = "analytics_graph.raw_send"
"""The scope key of the server's own ``send`` (set by :class:`RawSend`)."""

Write = Callable[[bytes], bool]
"""Writes one text message (UTF-8) as a frame now; ``False`` when it cannot (the caller
then sends it through the ASGI stack: ``hub.Send``)."""


class RawSend:
    """ASGI middleware (the outermost): keeps each websocket's server ``send`` in its
    scope, for :func:`frame_writer`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


def frame_writer(scope: MutableMapping[str, Any]) -> Write | None:
    """The direct writer of the connection of ``scope``, or ``None`` when its server
    is not uvicorn's sans-I/O websocket protocol (see the module docstring)."""
    send = scope.get(RAW_SEND)
    protocol = getattr(send, "__self__", None)
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
        from websockets.protocol import OPEN
    except ImportError:  # pragma: no cover - both come with the server
        return None
    if type(protocol) is not WebSocketsSansIOProtocol:
        return None
    if getattr(send, "__func__", None) is not WebSocketsSansIOProtocol.send:
        return None
    if not all(hasattr(protocol, name) for name in _PROTOCOL) or not all(
        hasattr(protocol.conn, name) for name in _CONNECTION
    ):
        return None  # another uvicorn than the one this was written for
    return _Direct(protocol, OPEN).write


_PROTOCOL = (
    "conn", "transport", "writable", "disconnected", "close_sent", "handshake_complete",
    "initial_response",
)  # fmt: skip
_CONNECTION = ("state", "extensions", "expect_continuation_frame", "writes")
"""What the writer reads of uvicorn's protocol and of its ``websockets`` connection
(set when they are made, so present for as long as they live)."""


class _Direct:
    __slots__ = ("_open", "_protocol")

    def __init__(self, protocol: Any, open_state: Any) -> None:
        self._protocol = protocol
        self._open = open_state

    def write(self, message: bytes) -> bool:
        protocol = self._protocol
        conn = protocol.conn
        if (
            protocol.disconnected
            or protocol.close_sent
            or not protocol.handshake_complete
            or protocol.initial_response is not None
            or not protocol.writable.is_set()
            or conn.state is not self._open
            or conn.extensions
            or conn.expect_continuation_frame
            or conn.writes
            or protocol.transport.is_closing()
        ):
            return False
        protocol.transport.write(header(len(message)) + message)
        return True


def header(length: int) -> bytes:
    """The header of a final, unmasked text frame of ``length`` bytes (RFC 6455 5.2:
    what a server sends)."""
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return b"\x81\x7e" + length.to_bytes(2, "big")
    return b"\x81\x7f" + length.to_bytes(8, "big")
