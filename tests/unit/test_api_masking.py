"""Unexpected failures reach clients masked; the log gets the details."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

from analytics_graph.api.context import Context
from analytics_graph.api.engine.limits import Limits
from analytics_graph.api.schema import build_schema
from analytics_graph.api.services import Services
from analytics_graph.auth import Caller, Role
from analytics_graph.config import Mode


class BrokenSession:
    statements = 0

    async def run(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("connection to 10.0.0.7 refused (password=hunter2)")


def _services() -> Services:
    unused = cast(Any, None)
    return Services(
        Mode.DEVELOPMENT, Limits(), unused, unused, unused, unused, unused, None, (), unused
    )


async def test_an_unexpected_error_is_masked_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    context = Context(_services(), Caller(Role.ADMIN), BrokenSession())
    with caplog.at_level(logging.ERROR, logger="analytics_graph.api"):
        result = await build_schema().execute(
            f'{{ account(id: "{uuid.uuid4()}") {{ id }} }}', context_value=context
        )
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "Unexpected error."
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR"}
    assert error.path == ["account"]
    assert "hunter2" not in str(error.formatted)
    assert "hunter2" in caplog.text


async def test_client_errors_are_shown_with_their_code() -> None:
    context = Context(_services(), Caller(Role.INGEST), BrokenSession())
    result = await build_schema().execute("{ me { id } }", context_value=context)
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "the ingest role reads nothing"
    assert error.extensions == {"code": "FORBIDDEN"}


async def test_the_http_query_path_masks_and_logs_the_same(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Queries over HTTP run through the engine's execute, as schema.execute does."""
    import orjson

    from analytics_graph.api.http.endpoint import GraphQLEndpoint
    from analytics_graph.api.http.protocol import JSON, GraphQLRequest

    schema = build_schema()
    endpoint = GraphQLEndpoint(schema, _services(), "s" * 32, ide=False)
    query = f'{{ account(id: "{uuid.uuid4()}") {{ id }} }}'
    prepared = schema.documents.prepare(query)
    assert prepared.document is not None
    context = Context(_services(), Caller(Role.ADMIN), BrokenSession())
    with caplog.at_level(logging.ERROR, logger="analytics_graph.api"):
        answer = await endpoint._run_operation(
            prepared.document, GraphQLRequest(query, None, None), context, JSON
        )
    [error] = orjson.loads(answer.body)["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert error["path"] == ["account"]
    assert "hunter2" not in answer.body.decode()
    assert "hunter2" in caplog.text
    assert not answer.cacheable  # an outage is not remembered as the answer
