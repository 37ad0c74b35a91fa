"""``POST /ingest``: collectors post NDJSON engagement events over HTTP.

One request is one unit: every line is validated (in batches, as the body
streams in) before anything is written, then all of its valid events are
appended in one transaction. So a request is written whole or not at all;
with ``?skipInvalid=true`` its valid lines are written and the invalid ones
reported. Re-sending a request never stores an event twice (``eventId``).

Answers (JSON)::

    200 {"accepted", "duplicates", "rejected": [{"line", "field", "reason"}],
         "rejectedCount", "lines", "written": true, "position"}
    422 the same with "written": false (a line was invalid; nothing was written)
    400 / 401 / 403 / 413 / 415 {"error": {"code", "message"}}
    503 {"error": ...} with Retry-After: the database is unreachable or saturated;
        nothing was written, send the request again

``position`` is the log position of the last event the request wrote (``null``
when it wrote none): a later read can wait for the read models to reach it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Hashable

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from analytics_graph.auth import InvalidTokenError, Role, TokenVerifier
from analytics_graph.collector import BulkCollections
from analytics_graph.config import Settings
from analytics_graph.eventstore import EventStore
from analytics_graph.ingest.body import BodyLimits, BodyRefused, body_batches
from analytics_graph.ingest.ndjson import LineBatch
from analytics_graph.ingest.service import Ingestor
from analytics_graph.ingest.workers import (
    UNAVAILABLE,
    IngestWorkers,
    Reply,
    WorkerGone,
    unavailable_reason,
)
from analytics_graph.observability import metrics

PATH = "/ingest"
# Young collections this many times less often while requests are ingested (the CLI
# does the same for its whole run: direct.py).
QUIET_FACTOR = 100
NDJSON = "application/x-ndjson"
ALLOWED_ROLES = frozenset({Role.INGEST, Role.ADMIN})
COLLECTOR_HEADER = "x-collector-id"
MAX_COLLECTOR_ID = 200


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return Response(body, status, headers, media_type="application/json")


class _Refusal(Exception):
    """Ends a request early with ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class IngestEndpoint:
    """Serves ``POST /ingest`` for one running system."""

    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        secret: str,
        workers: IngestWorkers | None = None,
    ) -> None:
        """``store`` should bound its pool waits (``acquire_timeout``): a saturated
        database then answers 503 instead of holding the collector. With ``workers``,
        requests are validated and appended there (:mod:`~analytics_graph.ingest.workers`)
        instead of in this process."""
        self.settings = settings
        self.workers = workers
        self.tokens = TokenVerifier(secret)
        self.ingestor = Ingestor(
            store,
            max_batch=settings.max_ingest_batch,
            max_line_bytes=settings.ingest_max_line_bytes,
        )
        self.collections = BulkCollections(QUIET_FACTOR)
        self.limits = BodyLimits(
            max_bytes=settings.ingest_max_body_bytes,
            max_lines=settings.ingest_max_lines,
            max_line_bytes=settings.ingest_max_line_bytes,
        )

    async def __call__(self, request: Request) -> Response:
        if request.method != "POST":
            message = "send events with POST (NDJSON, one event per line)"
            return _error(405, "METHOD_NOT_ALLOWED", message, {"Allow": "POST"})
        try:
            self._authorize(request.headers.get("authorization"))
            gzip = self._check_headers(request)
            skip_invalid = _flag(request.query_params.get("skipInvalid"))
        except _Refusal as refusal:
            return refusal.response
        started = time.perf_counter()
        try:
            if self.workers is None:
                reply = await self._ingest_here(request, gzip, skip_invalid)
            else:
                batches = [batch async for batch in self._batches(request, gzip)]
                reply = await self.workers.ingest(
                    _collector(request), batches, skip_invalid=skip_invalid
                )
        except BodyRefused as refused:
            return _error(refused.status, refused.code, refused.message)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody reads it; nothing was written
        except UNAVAILABLE as exc:
            return self._unavailable(unavailable_reason(exc))
        except WorkerGone as exc:
            return self._unavailable(str(exc), "it may have been written: sending it again is safe")
        if reply.unavailable is not None:
            return self._unavailable(reply.unavailable)
        if reply.failed:
            message = "the request failed in an ingest worker (its error is in the server's log)"
            return _error(500, "INTERNAL_SERVER_ERROR", message)
        if reply.append_seconds is not None:
            metrics.APPEND_SECONDS.observe(reply.append_seconds)
        seconds = time.perf_counter() - started
        metrics.count_events(
            "http", reply.accepted, reply.duplicates, reply.rejected_count, seconds
        )
        status = 200 if reply.written else 422
        return Response(orjson.dumps(reply.answer()), status, media_type="application/json")

    async def _ingest_here(self, request: Request, gzip: bool, skip_invalid: bool) -> Reply:
        validator = self.ingestor.validator
        with self.collections.during():
            validations = [
                await validator.lines(batch.lines, first_line=batch.first_line)
                async for batch in self._batches(request, gzip)
            ]
            outcome = await self.ingestor.write_all(validations, skip_invalid=skip_invalid)
        shown = self.settings.ingest_max_shown_rejections
        return Reply.of(outcome, sum(v.size for v in validations), shown)

    def _unavailable(self, reason: str, written: str = "nothing was written") -> Response:
        metrics.INGEST_UNAVAILABLE.inc()
        retry = str(self.settings.retry_after_seconds)
        message = f"the event store cannot take events now ({reason}); {written}"
        return _error(503, "SERVICE_UNAVAILABLE", message, {"Retry-After": retry})

    def _authorize(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Refusal(
                _error(
                    401,
                    "UNAUTHENTICATED",
                    "send an ingest or admin token as 'Authorization: Bearer <token>'",
                    {"WWW-Authenticate": "Bearer"},
                )
            )
        try:
            caller = self.tokens.verify(token.strip())
        except InvalidTokenError as exc:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            raise _Refusal(_error(401, "UNAUTHENTICATED", str(exc), headers)) from None
        if caller.role not in ALLOWED_ROLES:
            message = f"the {caller.role.value} role may not ingest events (ingest or admin may)"
            raise _Refusal(_error(403, "FORBIDDEN", message))

    def _check_headers(self, request: Request) -> bool:
        """Whether the body is gzip-compressed; refuses bad types, encodings and sizes."""
        media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media != NDJSON:
            message = f"send the events as Content-Type: {NDJSON} (got {media or 'none'!r})"
            raise _Refusal(_error(415, "UNSUPPORTED_MEDIA_TYPE", message))
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            message = f"Content-Encoding {encoding!r} is not supported (gzip or none)"
            raise _Refusal(_error(415, "UNSUPPORTED_MEDIA_TYPE", message))
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limits.max_bytes:
            message = f"the body exceeds {self.limits.max_bytes} bytes"
            raise _Refusal(_error(413, "PAYLOAD_TOO_LARGE", message))
        return encoding == "gzip"

    def _batches(self, request: Request, gzip: bool) -> AsyncIterator[LineBatch]:
        batch_size = self.settings.max_ingest_batch
        return body_batches(request.stream(), self.limits, batch_size=batch_size, gzip=gzip)


def _collector(request: Request) -> Hashable:
    """Who sends ``request``: its ``X-Collector-ID`` (the reference collector sends one
    per run, for all its connections), else its connection."""
    named = request.headers.get(COLLECTOR_HEADER)
    return named[:MAX_COLLECTOR_ID] if named else request.scope.get("client")


def _flag(value: str | None) -> bool:
    if value is None or value.lower() in ("false", "0"):
        return False
    if value.lower() in ("true", "1", ""):
        return True
    raise _Refusal(_error(400, "BAD_REQUEST", f"skipInvalid must be true or false, not {value!r}"))


async def _ingest(request: Request) -> Response:
    endpoint: IngestEndpoint = request.app.state.ingest
    return await endpoint(request)


def ingest_routes() -> list[BaseRoute]:
    """``POST /ingest``; the app's state must hold ``ingest`` (an :class:`IngestEndpoint`)."""
    # Every method reaches the endpoint, so that a wrong one is answered in JSON too.
    return [Route(PATH, _ingest, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
