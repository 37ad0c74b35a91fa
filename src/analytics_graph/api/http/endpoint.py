"""The ``/graphql`` HTTP endpoint: authenticate, prepare the document, run it.

A query runs in one state of the read models (``reads/snapshots.py``) and its
answer is cached under the projections' checkpoints (``cache.py``): asked again
before the projections move, it costs one statement. Mutations read through the
pool. Both run through the engine's one ``execute`` (``engine/execute.py``).

Responses carry ``Analytics-Graph-Statements`` (read-model statements run for
this answer) and, for queries, ``Analytics-Graph-Cache`` (``hit`` / ``miss``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from analytics_graph.api.context import Context, utc_today
from analytics_graph.api.engine import AnalyticsSchema
from analytics_graph.api.http.cache import AnswerCache, CachedAnswer
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
from analytics_graph.web import graphiql_html

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
        self.ide_html = graphiql_html() if ide else None
        self.answers = AnswerCache()
        self.reads = ConsistentReads()

    async def __call__(self, request: Request) -> Response:
        media = JSON
        try:
            if self.ide_html is not None and wants_ide(request):
                return HTMLResponse(self.ide_html)
            media = response_media_type(request.headers.get("accept"))
            graphql = await read_request(request, self.services.limits.max_body_bytes)
            request.state.graphql_operation = graphql.operation_name  # metrics and logs
            caller = caller_of(request.headers.get("authorization"), self.tokens)
            return await self._run(request.method, graphql, caller, media)
        except RequestError as error:
            return Response(error.body(), error.status, error.headers, media_type=media)

    async def _run(
        self, method: str, graphql: GraphQLRequest, caller: Caller | None, media: str
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
            return self._response(answer, media)
        assert prepared.document is not None
        return await self._query(prepared.document, graphql, caller, media)

    async def _query(
        self, document: DocumentNode, graphql: GraphQLRequest, caller: Caller | None, media: str
    ) -> Response:
        today = utc_today()
        key = _answer_key(graphql, caller, today, media)
        async with self.services.pool.acquire() as conn:
            tag = await live_tag(conn)
            cached = self.answers.get(key, tag)
            if cached is not None:
                return self._response(Answer(cached.status, cached.body, True, 0), media, "hit")

            async def run(session: ConnectionSession) -> Answer:
                context = Context(self.services, caller, session, today)
                return await self._run_operation(document, graphql, context, media)

            # Of the read models at the tag or later: never older than a request that
            # finds the tag.
            tag, answer = await self.reads.read(conn, tag, run)
        if answer.cacheable:
            self.answers.put(key, CachedAnswer(tag, answer.status, answer.body))
        return self._response(answer, media, "miss")

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
