"""The export service of a running app, and how a GraphQL resolver finds it.

:func:`exports_of` makes the service on first use from the app's running system
(``app.state.system``, opened in the lifespan): where reads run (the primary and
any replicas), the signing secret and a verifier of bearer tokens. A resolver has
no request, yet ``exportLink`` answers an absolute URL: :class:`RequestScope`, an
ASGI middleware, makes the scope of the HTTP request or websocket being served
visible to the code that serves it (:func:`request_origin`).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from analytics_graph.auth import TokenVerifier, signing_secret
from analytics_graph.replication import ReadPools

_scope: ContextVar[Scope | None] = ContextVar("analytics_graph_request_scope", default=None)


@dataclass(frozen=True, slots=True)
class Exports:
    """What serving exports needs: where the read models are read, and the token secret."""

    reads: ReadPools
    secret: str
    tokens: TokenVerifier


def exports_of(app: object) -> Exports:
    """The export service of a Starlette app whose lifespan opened a system."""
    state = app.state  # type: ignore[attr-defined]
    exports: Exports | None = getattr(state, "exports", None)
    if exports is None:
        system = state.system
        secret = signing_secret(system.settings)
        exports = state.exports = Exports(system.services.reads, secret, TokenVerifier(secret))
    return exports


class RequestScope:
    """ASGI middleware: the scope of each HTTP request and websocket, for the code
    serving it (a context variable, so tasks started meanwhile see it too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = _scope.set(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            _scope.reset(token)


def request_origin() -> tuple[Exports, str]:
    """The export service and the base URL (scheme, host, root path) of the request
    being served; raises ``LookupError`` outside one (no :class:`RequestScope`)."""
    scope = _scope.get()
    if scope is None:
        raise LookupError("export links are made only while serving a request over HTTP")
    connection = HTTPConnection(scope)
    base = str(connection.base_url)
    if scope["type"] == "websocket":
        base = base.replace("ws://", "http://", 1).replace("wss://", "https://", 1)
    return exports_of(connection.app), base
