"""The ``/graphql`` HTTP endpoint: authenticate, prepare the document, run it.

A query runs in one state of the read models (``reads/snapshots.py``) and its
answer is cached under the projections' checkpoints (``cache.py``): asked again
before the projections move, it costs one statement. Mutations read through the
pool. Both run through the engine's one ``execute`` (``engine/execute.py``).

Responses carry ``Analytics-Graph-Statements`` (read-model statements run for
this answer) and, for queries, ``Analytics-Graph-Cache`` (``hit`` / ``miss``).
Queries read on a replica when there are replicas; positions in headers carry
read-your-writes across them (``positions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from analytics_graph.api.context import Context, utc_today
from analytics_graph.api.engine import AnalyticsSchema
from analytics_graph.api.http.cache import AnswerCache, CachedAnswer, position_of
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
from analytics_graph.projection.checkpoints import live_tag
from analytics_graph.replication import PositionNotReached, Source
from analytics_graph.types import Connection

STATEMENTS_HEADER = "Analytics-Graph-Statements"
CACHE_HEADER = "Analytics-Graph-Cache"


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


@dataclass(frozen=True, slots=True)
class Answer:
    """An executed operation as an HTTP answer; ``statements``: SQL statements it cost."""

    status: int
    body: bytes
    cacheable: bool
    statements: int


class GraphQLEndpoint:
    """Serves GraphQL over HTTP for one schema and one running system."""

    def __init__(
        self, schema: AnalyticsSchema, services: Services, secret: str, *, ide: bool
    ) -> None:
        self.schema = schema
        self.services = services
        self.tokens = TokenVerifier(secret)
        self.ide_html = get_graphql_ide_html("graphiql") if ide else None
        self.answers = AnswerCache()
        self.reads = ConsistentReads()

    async def __call__(self, request: Request) -> Response:
        media = JSON
        try:
            if self.ide_html is not None and wants_ide(request):
                return HTMLResponse(self.ide_html)
            media = response_media_type(request.headers.get("accept"))
            graphql = await read_request(request, self.services.limits.max_body_bytes)
            caller = caller_of(request.headers.get("authorization"), self.tokens)
            wanted = min_position(request.headers.get(MIN_POSITION_HEADER))
            return await self._run(request.method, graphql, caller, media, wanted)
        except RequestError as error:
            return Response(error.body(), error.status, error.headers, media_type=media)

    async def _run(
        self, method: str, graphql: GraphQLRequest, caller: Caller | None, media: str, wanted: int
    ) -> Response:
        prepared = self.schema.documents.prepare(graphql.query)
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
        )
        return self._answer(result.data, list(result.errors or ()), context, media)

    def _answer(
        self, data: Any, errors: list[GraphQLError], context: Context, media: str
    ) -> Answer:
        request_error = data is None and bool(errors) and all(e.path is None for e in errors)
        payload: dict[str, Any] = {} if request_error else {"data": data}
        if errors:
            payload["errors"] = _errors(errors)
        status = 400 if request_error and media == GRAPHQL_RESPONSE else 200
        cacheable = not context.beyond_read_models and not any(
            (e.extensions or {}).get("code") == "INTERNAL_SERVER_ERROR" for e in errors
        )
        return Answer(status, orjson.dumps(payload), cacheable, context.session.statements)

    def _response(self, answer: Answer, media: str, cache: str | None = None) -> Response:
        headers = {STATEMENTS_HEADER: str(answer.statements)}
        if cache is not None:
            headers[CACHE_HEADER] = cache
        return Response(answer.body, answer.status, headers, media_type=media)


def _answer_key(
    graphql: GraphQLRequest, caller: Caller | None, today: date, media: str
) -> tuple[object, ...]:
    variables = (
        orjson.dumps(graphql.variables, option=orjson.OPT_SORT_KEYS) if graphql.variables else b""
    )
    return (
        graphql.query,
        graphql.operation_name,
        variables,
        caller.key if caller else "-",
        today,
        media,
    )
