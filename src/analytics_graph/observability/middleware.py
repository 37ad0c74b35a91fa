"""An ASGI middleware: a request id for every request, timing, a log line, metrics.

- The id is taken from ``X-Request-ID`` when it is a short token of letters,
  digits and ``._-`` (otherwise one is generated), returned in the response's
  ``X-Request-ID`` and attached to every log record made while serving it.
- One log line per request: method, path (never the query string, which may
  hold a GraphQL document or variables), status, duration, and for GraphQL the
  operation name and outcome. Bodies and headers are never logged.
- Metrics: requests by route and status; GraphQL latency by operation name and
  outcome; the number of open subscriptions (graphql-transport-ws messages).

The GraphQL endpoint names the operation it runs in ``request.state`` (the
``graphql_operation`` key); the outcome is ``error`` when the answer carries
``errors`` or a status of 400 or more.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any, Final

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics_graph.observability import metrics
from analytics_graph.observability.logs import request_id

log = logging.getLogger("analytics_graph.requests")

HEADER: Final = b"x-request-id"
GRAPHQL_PATH: Final = "/graphql"
ROUTES: Final = frozenset({"/graphql", "/ingest", "/healthz", "/readyz", "/metrics"})
QUIET: Final = frozenset({"/healthz", "/readyz", "/metrics"})  # probes: logged at debug
_VALID_ID: Final = re.compile(rb"^[A-Za-z0-9._-]{1,128}$")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == HEADER and _VALID_ID.match(value):
            return str(value.decode())
    return uuid.uuid4().hex


class ObservabilityMiddleware:
    """Wraps the whole app (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = _request_id(scope)
        token = request_id.set(rid)
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        seen = {"status": 500, "errors": False}
        graphql = scope["path"] == GRAPHQL_PATH

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                message["headers"] = [*message.get("headers", ()), (HEADER, rid.encode())]
            elif graphql and message["type"] == "http.response.body":
                seen["errors"] = seen["errors"] or b'"errors":' in message.get("body", b"")
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            self._observe(scope, state, seen, seconds)
            request_id.reset(token)

    def _observe(
        self, scope: Scope, state: MutableMapping[str, Any], seen: dict[str, Any], seconds: float
    ) -> None:
        path, status = scope["path"], int(seen["status"])
        route = path if path in ROUTES else "other"
        metrics.HTTP_REQUESTS.labels(route, str(status)).inc()
        fields: dict[str, Any] = {
            "method": scope["method"],
            "path": route if route == "other" else path,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        if path == GRAPHQL_PATH and "graphql_operation" in state:
            operation = metrics.operation_label(state["graphql_operation"])
            outcome = "error" if seen["errors"] or status >= 400 else "ok"
            metrics.GRAPHQL_SECONDS.labels(operation, outcome).observe(seconds)
            fields.update(operation=operation, outcome=outcome)
        else:
            fields["outcome"] = "ok" if status < 400 else "error"
        level = logging.DEBUG if path in QUIET and status < 400 else logging.INFO
        log.log(level, "request", extra={"fields": fields})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = request_id.set(_request_id(scope))
        running: set[str] = set()

        async def receive_observed() -> Message:
            message = await receive()
            kind, op = _ws_message(message)
            if kind == "subscribe" and op is not None and op not in running:
                running.add(op)
                metrics.SUBSCRIPTIONS.inc()
            elif kind == "complete" and op in running:
                running.discard(op)
                metrics.SUBSCRIPTIONS.dec()
            return message

        async def send_observed(message: Message) -> None:
            kind, op = _ws_message(message)
            if kind in ("complete", "error") and op in running:
                running.discard(op)
                metrics.SUBSCRIPTIONS.dec()
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive_observed, send_observed)
        finally:
            metrics.SUBSCRIPTIONS.dec(len(running))
            fields = {
                "path": scope["path"],
                "duration_ms": round(1000 * (time.perf_counter() - started), 3),
            }
            log.info("websocket closed", extra={"fields": fields})
            request_id.reset(token)


def _ws_message(message: Message) -> tuple[str | None, str | None]:
    """The graphql-transport-ws type and id of a websocket text message, if it is one
    that starts or ends an operation (others are not decoded)."""
    text = message.get("text")
    if not isinstance(text, str) or not any(
        word in text for word in ('"subscribe"', '"complete"', '"error"')
    ):
        return None, None
    try:
        decoded = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(decoded, dict):
        return None, None
    kind, op = decoded.get("type"), decoded.get("id")
    return (kind if isinstance(kind, str) else None), (op if isinstance(op, str) else None)
