"""The ``/graphql`` HTTP endpoint: authenticate, prepare the document, run it.

A query runs in one state of the read models (``reads/snapshots.py``) and its
answer is cached under the projections' checkpoints (``cache.py``): asked again
before the projections move, it costs one statement. Mutations read through the
pool. Both run through the engine's one ``execute`` (``engine/execute.py``).

Responses carry ``Analytics-Graph-Statements`` (read-model statements run for
this answer) and, for queries, ``Analytics-Graph-Cache`` (``hit`` / ``miss``).

Every failure answers in the GraphQL error shape with a code. When the database
is unreachable, restarting or saturated (a connection refused, a pooled
connection not free within ``Limits.acquire_timeout``, a statement over the
pool's timeout), the answer is ``SERVICE_UNAVAILABLE`` with ``Retry-After``:
status 503 for ``application/graphql-response+json`` clients, 200 for
``application/json`` ones (GraphQL over HTTP). A query is tried once more first
(a pooled connection may have died with the previous server). Anything else
unexpected is ``INTERNAL_SERVER_ERROR`` (500), logged with its traceback.

Queries read on a replica when there are replicas; positions in headers carry
read-your-writes across them (``positions.py``).

Long query texts are parsed and validated in a worker thread
(``Limits.offload_query_chars``), large bodies decoded and their variables coerced
in one (``Limits.offload_bytes``): the event loop keeps serving other clients.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from analytics_graph.api.context import Context, utc_today
from analytics_graph.api.engine import AnalyticsSchema
from analytics_graph.api.engine.documents import digest
from analytics_graph.api.engine.masking import UNAVAILABLE, UNAVAILABLE_MESSAGE
from analytics_graph.api.http.cache import AnswerCache, CachedAnswer, answer_key, position_of
from analytics_graph.api.http.positions import (
    MIN_POSITION_HEADER,
    POSITION_HEADER,
    READ_HEADER,
    min_position,
    not_reached,
)
from analytics_graph.api.http.protocol import (
    GRAPHQL_RESPONSE,
    JSON,
    GraphQLRequest,
    RequestError,
    read_request,
    response_media_type,
    wants_ide,
)
from analytics_graph.api.reads.snapshots import ConnectionSession, ConsistentReads, PoolSession
from analytics_graph.api.services import Services
from analytics_graph.auth import Caller, InvalidTokenError, TokenVerifier
from analytics_graph.database import is_unavailable
from analytics_graph.projection.checkpoints import live_tag
from analytics_graph.replication import PositionNotReached, Source
from analytics_graph.types import Connection
from analytics_graph.web import graphiql_html

STATEMENTS_HEADER = "Analytics-Graph-Statements"
CACHE_HEADER = "Analytics-Graph-Cache"
RETRY_AFTER_SECONDS = 2
log = logging.getLogger("analytics_graph.api")


def caller_of(authorization: str | None, tokens: TokenVerifier) -> Caller | None:
    """The caller a ``Bearer`` authorization names (``None`` without one); raises 401."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("send the token as 'Authorization: Bearer <token>'")
    try:
        return tokens.verify(token.strip())
    except InvalidTokenError as error:
        raise _unauthorized(str(error)) from None


def _unauthorized(message: str) -> RequestError:
    return RequestError(
        401, message, "UNAUTHENTICATED", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def _errors(errors: list[GraphQLError] | tuple[GraphQLError, ...]) -> list[dict[str, Any]]:
    return [dict(e.formatted) for e in errors]


def _unavailable(media: str) -> RequestError:
    return RequestError(
        503 if media == GRAPHQL_RESPONSE else 200,
        UNAVAILABLE_MESSAGE,
        UNAVAILABLE,
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
        retryable=True,
    )


def _unexpected() -> RequestError:
    return RequestError(500, "Unexpected error.", "INTERNAL_SERVER_ERROR")


@dataclass(frozen=True, slots=True)
class Answer:
    """An executed operation as an HTTP answer; ``statements``: SQL statements it cost;
    ``unavailable``: an error of it says the database was unavailable."""

    status: int
    body: bytes
    cacheable: bool
    statements: int
    unavailable: bool = False


class GraphQLEndpoint:
    """Serves GraphQL over HTTP for one schema and one running system."""

    def __init__(
        self, schema: AnalyticsSchema, services: Services, secret: str, *, ide: bool
    ) -> None:
        self.schema = schema
        self.services = services
        self.tokens = TokenVerifier(secret)
        self.ide_html = graphiql_html() if ide else None
        self.answers = AnswerCache()
        self.reads = ConsistentReads()

    async def __call__(self, request: Request) -> Response:
        media = JSON
        try:
            if self.ide_html is not None and wants_ide(request):
                return HTMLResponse(self.ide_html)
            media = response_media_type(request.headers.get("accept"))
            graphql = await read_request(request, self.services.limits)
            request.state.graphql_operation = graphql.operation_name  # metrics and logs
            caller = caller_of(request.headers.get("authorization"), self.tokens)
            wanted = min_position(request.headers.get(MIN_POSITION_HEADER))
            return await self._run(request.method, graphql, caller, media, wanted)
        except RequestError as error:
            return _refusal(error, media)
        except Exception as error:  # every failure answers in the GraphQL error shape
            if is_unavailable(error):
                log.warning("database unavailable: %r", error)
                return _refusal(_unavailable(media), media)
            log.exception("unexpected error serving a GraphQL request")
            return _refusal(_unexpected(), media)

    async def _run(
        self, method: str, graphql: GraphQLRequest, caller: Caller | None, media: str, wanted: int
    ) -> Response:
        documents = self.schema.documents
        if len(graphql.query) > self.services.limits.offload_query_chars:
            prepared = await asyncio.to_thread(documents.prepare, graphql.query)
        else:
            prepared = documents.prepare(graphql.query)
        if prepared.errors:
            status = 400 if media == GRAPHQL_RESPONSE else 200
            return Response(
                orjson.dumps({"errors": _errors(prepared.errors)}), status, media_type=media
            )
        kind = prepared.operation_type(graphql.operation_name)
        if kind is None:
            raise RequestError(
                400,
                "name the operation to run with `operationName`"
                if graphql.operation_name is None
                else f"no operation named {graphql.operation_name!r}",
            )
        if kind is OperationType.SUBSCRIPTION:
            raise RequestError(
                400, "subscriptions run over a websocket (graphql-transport-ws) at this path"
            )
        if kind is OperationType.MUTATION:
            if method == "GET":
                raise RequestError(
                    405, "mutations are sent with POST", "METHOD_NOT_ALLOWED", {"Allow": "POST"}
                )
            assert prepared.document is not None
            context = Context(self.services, caller, PoolSession(self.services.pool))
            answer = await self._run_operation(prepared.document, graphql, context, media)
            response = self._response(answer, media)
            if context.written is not None:
                response.headers[POSITION_HEADER] = str(context.written)
            return response
        assert prepared.document is not None
        try:
            return await self._query(prepared.document, graphql, caller, media, wanted)
        except PositionNotReached as error:
            raise not_reached(error) from None

    async def _query(
        self,
        document: DocumentNode,
        graphql: GraphQLRequest,
        caller: Caller | None,
        media: str,
        wanted: int,
    ) -> Response:
        today = utc_today()
        key = _answer_key(graphql, caller, today, media)
        try:
            response = await self._query_once(document, graphql, caller, media, key, today, wanted)
        except Exception as error:
            if not is_unavailable(error):
                raise
            response = None
        if response is None:  # a pooled connection may have died with the last server
            response = await self._query_once(document, graphql, caller, media, key, today, wanted)
            if response is None:
                raise _unavailable(media)
        return response

    async def _query_once(
        self,
        document: DocumentNode,
        graphql: GraphQLRequest,
        caller: Caller | None,
        media: str,
        key: bytes,
        today: date,
        wanted: int,
    ) -> Response | None:
        """The answer, or ``None`` when the database was unavailable to it; read on a
        replica whose read models include ``wanted`` when there is one, else the primary."""

        async def read(conn: Connection, source: Source) -> tuple[str, Answer, str, str]:
            tag = await live_tag(conn)
            cached = self.answers.get(key, tag)
            if cached is not None:
                answer = Answer(cached.status, cached.body, True, 0)
                return cached.tag, answer, "hit", source.name

            async def run(session: ConnectionSession) -> Answer:
                context = Context(self.services, caller, session, today)
                return await self._run_operation(document, graphql, context, media)

            # Of the read models at the tag or later: never older than a request that
            # finds the tag.
            tag, answer = await self.reads.read(conn, tag, run)
            return tag, answer, "miss", source.name

        reads = self.services.reads
        tag, answer, cache, where = await reads.run(
            reads.everything_at(wanted), read, failed=lambda r: not r[1].cacheable
        )
        if answer.unavailable:
            return None
        if cache == "miss" and answer.cacheable:
            self.answers.put(key, CachedAnswer(tag, answer.status, answer.body))
        response = self._response(answer, media, cache)
        response.headers[POSITION_HEADER] = str(position_of(tag))
        response.headers[READ_HEADER] = where
        return response

    async def _run_operation(
        self, document: DocumentNode, graphql: GraphQLRequest, context: Context, media: str
    ) -> Answer:
        result = await self.schema.engine.execute(
            document,
            context,
            variables=graphql.variables,
            operation_name=graphql.operation_name,
            offload=graphql.size > self.services.limits.offload_bytes,
        )
        return self._answer(result.data, list(result.errors or ()), context, media)

    def _answer(
        self, data: Any, errors: list[GraphQLError], context: Context, media: str
    ) -> Answer:
        request_error = data is None and bool(errors) and all(e.path is None for e in errors)
        payload: dict[str, Any] = {} if request_error else {"data": data}
        if errors:
            payload["errors"] = _errors(errors)
        codes = {(e.extensions or {}).get("code") for e in errors}
        unavailable = UNAVAILABLE in codes
        status = 400 if request_error and media == GRAPHQL_RESPONSE else 200
        if unavailable and media == GRAPHQL_RESPONSE:
            status = 503
        cacheable = not context.beyond_read_models and not (
            codes & {"INTERNAL_SERVER_ERROR", UNAVAILABLE}
        )
        body = orjson.dumps(payload)
        return Answer(status, body, cacheable, context.session.statements, unavailable)

    def _response(self, answer: Answer, media: str, cache: str | None = None) -> Response:
        headers = {STATEMENTS_HEADER: str(answer.statements)}
        if cache is not None:
            headers[CACHE_HEADER] = cache
        if answer.unavailable:
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return Response(answer.body, answer.status, headers, media_type=media)


def _answer_key(graphql: GraphQLRequest, caller: Caller | None, today: date, media: str) -> bytes:
    """Digests only: the key holds neither the query text nor a variable's value."""
    return answer_key(
        digest(graphql.query),
        graphql.operation_name,
        graphql.variables_digest,
        caller.key if caller else "-",
        today.isoformat(),
        media,
    )


def _refusal(error: RequestError, media: str) -> Response:
    return Response(error.body(), error.status, error.headers, media_type=media)
