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

Hostile bodies are refused early and cheaply, before any GraphQL work, naming
what is wrong: a body over the size limit (413, read no further), JSON nested
deeper than the serializer's limit anywhere in ``variables`` (even unused
ones), a list in ``variables`` longer than the largest batch the API accepts,
or more values in ``variables`` than such a batch holds (400). A large body is
decoded and checked in a worker thread, so other requests keep being served.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

import orjson
from starlette.requests import Request

from analytics_graph.api.engine.limits import Limits

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_JSON_DEPTH = 254
"""orjson writes no deeper nesting than this (and reads no deeper than 1024)."""
VALUES_PER_EVENT = 10
"""How many JSON containers a batch's events may hold each (``variables`` bound)."""


class RequestError(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "BAD_REQUEST",
        headers: dict[str, str] | None = None,
        **extensions: object,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.extensions = {"code": code, **extensions}

    def body(self) -> bytes:
        return orjson.dumps({"errors": [{"message": self.message, "extensions": self.extensions}]})


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """A request's parts; ``variables_digest`` names the variables' values (sorted
    keys, BLAKE2b) without holding them; ``size``: the bytes the request took."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    variables_digest: bytes = b""
    size: int = 0


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


async def read_request(request: Request, limits: Limits) -> GraphQLRequest:
    """The GraphQL request in an HTTP request; raises :class:`RequestError` with its status."""
    if request.method == "GET":
        return _from_params(dict(request.query_params), limits)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in (JSON, GRAPHQL_RESPONSE):
        raise RequestError(
            415,
            f"send the request as {JSON}, not {media or 'no content type'}",
            "UNSUPPORTED_MEDIA_TYPE",
        )
    body = await _body(request, limits.max_body_bytes)
    if len(body) > limits.offload_bytes:
        return await asyncio.to_thread(_from_body, body, limits)
    return _from_body(body, limits)


def _from_body(body: bytes, limits: Limits) -> GraphQLRequest:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        if "depth" in str(error):
            raise RequestError(
                400,
                f"the request body nests JSON too deeply ({error}); `variables` may nest"
                f" at most {MAX_JSON_DEPTH} levels",
            ) from None
        raise RequestError(400, f"the request body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise RequestError(400, "the request body must be a JSON object with a `query`")
    return _from_payload(payload, limits, len(body))


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


def _from_params(params: dict[str, str], limits: Limits) -> GraphQLRequest:
    payload: dict[str, Any] = dict(params)
    if "variables" in params:
        try:
            payload["variables"] = orjson.loads(params["variables"])
        except orjson.JSONDecodeError as error:
            raise RequestError(
                400, f"the `variables` parameter is not valid JSON: {error}"
            ) from None
    return _from_payload(payload, limits, sum(len(v) for v in params.values()))


def _from_payload(payload: dict[str, Any], limits: Limits, size: int) -> GraphQLRequest:
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(
            400, "the request has no `query` (a string holding the GraphQL document)"
        )
    if len(query) > limits.max_query_chars:
        raise RequestError(
            400,
            f"`query` is {len(query)} characters long; at most {limits.max_query_chars}"
            " are allowed",
        )
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be a JSON object")
    name = payload.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, "`operationName` must be a string")
    digest = b""
    if variables:
        check_variables(variables, limits.max_batch)
        digest = variables_digest(variables)
    return GraphQLRequest(query, variables, name or None, digest, size)


def variables_digest(variables: dict[str, Any]) -> bytes:
    """32 bytes naming the variables' values; raises 400 for nesting orjson cannot write."""
    try:
        encoded = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    except TypeError as error:  # orjson.JSONEncodeError: "Recursion limit reached"
        raise RequestError(
            400, f"`variables` nests deeper than {MAX_JSON_DEPTH} levels ({error})"
        ) from None
    return blake2b(encoded, digest_size=32).digest()


def check_variables(variables: dict[str, Any], max_list: int) -> None:
    """Refuses (400) ``variables`` holding a list longer than ``max_list`` or more
    containers than ``VALUES_PER_EVENT * max(max_list, 10_000)``; looks at containers
    only, and stops at the first problem (a 100,000-event batch is refused by its
    length)."""
    budget = limit = VALUES_PER_EVENT * max(max_list, 10_000)
    # (where, value): where is (parent's where, key), formatted only to name a problem
    stack: list[tuple[Any, Any]] = [((None, k), v) for k, v in variables.items()]
    while stack:
        where, value = stack.pop()
        if isinstance(value, list):
            if len(value) > max_list:
                raise RequestError(
                    400,
                    f"`{_path(where)}` holds {len(value)} items; at most {max_list} are"
                    " allowed in one request",
                )
            children = [((where, i), v) for i, v in enumerate(value) if _container(v)]
        elif isinstance(value, dict):
            children = [((where, k), v) for k, v in value.items() if _container(v)]
        else:
            continue
        budget -= len(children)
        if budget < 0:
            raise RequestError(400, f"`variables` holds more than {limit} objects and lists")
        stack.extend(children)


def _path(where: Any) -> str:
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "variables" + "".join(reversed(parts))


def _container(value: object) -> bool:
    return isinstance(value, (list, dict))
