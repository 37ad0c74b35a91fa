"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): reading requests,
choosing the response media type, and the status codes of failed requests.

* ``POST`` with ``Content-Type: application/json`` (else 415), a JSON object
  with ``query``, optional ``variables`` (object), ``operationName``,
  ``extensions`` (else 400); bodies over the limit get 413.
* ``GET`` with the same as URL parameters (``variables`` JSON-encoded); only
  queries (a mutation over GET gets 405 with ``Allow: POST``).
* ``Accept``: ``application/graphql-response+json`` when the client names it
  (and prefers it at least as much as ``application/json``); ``application/json``
  for legacy clients (``application/json``, ``*/*`` or no ``Accept``); anything
  else gets 406. Under ``application/graphql-response+json`` a request that
  cannot run (syntax, validation, variables) gets 400; under ``application/json``
  it gets 200, as the spec says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class RequestError(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "BAD_REQUEST",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}

    def body(self) -> bytes:
        return orjson.dumps(
            {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        )


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def _accepted(header: str) -> list[tuple[str, float]]:
    accepted = []
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            accepted.append((media.lower(), quality))
    return accepted


def response_media_type(accept: str | None) -> str:
    """The media type to answer with; raises 406 when the client accepts neither."""
    if not accept:
        return JSON
    accepted = dict(_accepted(accept))
    preferred = accepted.get(GRAPHQL_RESPONSE, 0.0)
    if preferred and preferred >= accepted.get(JSON, 0.0):
        return GRAPHQL_RESPONSE
    if JSON in accepted or "*/*" in accepted or "application/*" in accepted:
        return JSON  # legacy clients (and curl's */*) get application/json
    raise RequestError(
        406, f"cannot answer with any of: {accept}; accept {GRAPHQL_RESPONSE}", "NOT_ACCEPTABLE"
    )


def wants_ide(request: Request) -> bool:
    """A browser asking for the page (``GET`` of ``text/html`` without a query)."""
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params
    )


async def read_request(request: Request, max_bytes: int) -> GraphQLRequest:
    """The GraphQL request in an HTTP request; raises :class:`RequestError` with its status."""
    if request.method == "GET":
        return _from_params(dict(request.query_params))
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in (JSON, GRAPHQL_RESPONSE):
        raise RequestError(
            415,
            f"send the request as {JSON}, not {media or 'no content type'}",
            "UNSUPPORTED_MEDIA_TYPE",
        )
    body = await _body(request, max_bytes)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestError(400, f"the request body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise RequestError(400, "the request body must be a JSON object with a `query`")
    return _from_payload(payload)


async def _body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise RequestError(
            413, f"the request body is larger than {max_bytes} bytes", "PAYLOAD_TOO_LARGE"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise RequestError(
                413, f"the request body is larger than {max_bytes} bytes", "PAYLOAD_TOO_LARGE"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _from_params(params: dict[str, str]) -> GraphQLRequest:
    payload: dict[str, Any] = dict(params)
    if "variables" in params:
        try:
            payload["variables"] = orjson.loads(params["variables"])
        except orjson.JSONDecodeError as error:
            raise RequestError(
                400, f"the `variables` parameter is not valid JSON: {error}"
            ) from None
    return _from_payload(payload)


def _from_payload(payload: dict[str, Any]) -> GraphQLRequest:
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(
            400, "the request has no `query` (a string holding the GraphQL document)"
        )
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be a JSON object")
    name = payload.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, "`operationName` must be a string")
    return GraphQLRequest(query, variables, name or None)
