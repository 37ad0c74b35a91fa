"""Hostile and oversized requests are refused early, cheaply and in the GraphQL error
shape; the event loop keeps serving other clients meanwhile (issue 16, section 4)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from starlette.datastructures import Secret

from analytics_graph.auth import Role
from analytics_graph.config import Settings
from tests.conftest import scratch_database
from tests.e2e.conftest import serving
from tests.e2e.graphql_support import GRAPHQL_RESPONSE, SECRET, token

RECORD = (
    "mutation R($events: [EngagementEventInput!]!) {"
    " recordEngagement(events: $events) { __typename"
    " ... on IngestResult { accepted duplicates } ... on IngestRejected { message } } }"
)
TINY = "{ __typename }"
REGISTER = (
    "mutation A($handle: String!) { registerAccount(input: {handle: $handle,"
    " displayName: $handle}) { ... on Account { id } } }"
)


@pytest.fixture(scope="module")
async def base_url(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(server_url) as url:
        settings = Settings(
            database_url=url,
            data_dir=tmp_path_factory.mktemp("hardening"),
            secret=Secret(SECRET),
            websocket_init_timeout=3.0,
            websocket_max_operations=2,
        )
        async with serving(settings) as base:
            yield base


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        yield client


def _view(account: str) -> dict[str, Any]:
    return {
        "profileView": {
            "eventId": str(uuid.uuid4()),
            "occurredAt": datetime(2025, 5, 20, 12, tzinfo=UTC).isoformat(),
            "accountId": account,
            "viewerId": "v",
        }
    }


async def _post(
    http: httpx.AsyncClient, body: bytes | dict[str, Any], *, role: Role = Role.ADMIN
) -> httpx.Response:
    headers = {
        "accept": GRAPHQL_RESPONSE,
        "content-type": "application/json",
        "authorization": f"Bearer {token(role)}",
    }
    if isinstance(body, dict):
        return await http.post("/graphql", json=body, headers=headers)
    return await http.post("/graphql", content=body, headers=headers)


def _message(response: httpx.Response) -> str:
    errors = response.json()["errors"]
    assert errors and all(e["extensions"]["code"] for e in errors), errors
    return str(errors[0]["message"])


@pytest.mark.parametrize("depth", [300, 5_000])
async def test_deep_json_in_an_unused_variable_is_a_400_naming_variables(
    http: httpx.AsyncClient, depth: int
) -> None:
    deep = "[" * depth + "]" * depth
    body = f'{{"query": "{TINY}", "variables": {{"unused": {deep}}}}}'.encode()
    response = await _post(http, body)
    assert response.status_code == 400
    assert "`variables`" in _message(response)


async def test_a_batch_over_the_limit_is_refused_by_its_length_while_others_are_served(
    http: httpx.AsyncClient,
) -> None:
    """100,000 events are refused: as a body over the size limit (413, read no
    further) or, when they fit, by the list's length in the raw variables, before any
    coercion; a tiny query sent meanwhile is answered."""
    account = str(uuid.uuid4())
    events = [_view(account) for _ in range(100_000)]
    whole = asyncio.create_task(_post(http, {"query": RECORD, "variables": {"events": events}}))
    compact = asyncio.create_task(
        _post(http, {"query": RECORD, "variables": {"events": [{}] * 100_000}})
    )
    tiny = await _post(http, {"query": TINY})
    too_large, refused = await whole, await compact
    assert tiny.status_code == 200 and tiny.json() == {"data": {"__typename": "Query"}}
    assert too_large.status_code == 413
    assert _message(too_large) == "the request body is larger than 16777216 bytes"
    assert refused.status_code == 400
    assert _message(refused) == (
        "`variables.events` holds 100000 items; at most 10000 are allowed in one request"
    )


async def test_tiny_queries_are_answered_while_a_large_batch_is_coerced(
    http: httpx.AsyncClient,
) -> None:
    """Tiny queries sent after a 10,000-event batch (the largest allowed; decoded and
    coerced in a worker thread, see tests/unit/test_api_bounds.py) are answered while
    it is in flight, and the batch is accepted whole."""
    handle = f"h{uuid.uuid4().hex[:12]}"
    registered = await _post(http, {"query": REGISTER, "variables": {"handle": handle}})
    account = registered.json()["data"]["registerAccount"]["id"]
    events = [_view(account) for _ in range(10_000)]
    big = asyncio.create_task(_post(http, {"query": RECORD, "variables": {"events": events}}))
    answered_meanwhile = 0  # tiny answers that arrived while the batch was in flight
    while not big.done() and answered_meanwhile < 1_000:
        answered = await _post(http, {"query": TINY})
        assert answered.status_code == 200
        if not big.done():
            answered_meanwhile += 1
    recorded = (await big).json()
    assert recorded["data"]["recordEngagement"] == {
        "__typename": "IngestResult",
        "accepted": 10_000,
        "duplicates": 0,
    }
    assert answered_meanwhile >= 1  # tiny queries were answered before the batch was


@pytest.mark.parametrize(
    ("selection", "problem"),
    [
        (" ".join(f"t{i}: __typename" for i in range(1_300)), "1300 aliases"),
        (" ".join(f"s{i}: __schema {{ queryType {{ name }} }}" for i in range(80)), "80 aliases"),
    ],
)
async def test_aliases_of_introspection_fields_count(
    http: httpx.AsyncClient, selection: str, problem: str
) -> None:
    response = await _post(http, {"query": f"{{ {selection} }}"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(problem in e["message"] for e in errors), errors
    assert {e["extensions"]["code"] for e in errors} == {"QUERY_TOO_COMPLEX"}


async def test_a_query_text_over_the_limit_is_refused_unparsed(http: httpx.AsyncClient) -> None:
    response = await _post(http, {"query": "{ __typename }" + " " * 200_000})
    assert response.status_code == 400
    assert "`query` is 200014 characters long" in _message(response)


async def test_distinct_failing_documents_are_not_kept(
    base_url: str, http: httpx.AsyncClient
) -> None:
    """Twenty distinct 90 kB documents that fail to parse leave only their errors in
    a cache bounded by bytes; their texts are not kept."""
    for n in range(20):
        text = "{ __typename " + "#" * 90_000 + f" {n} "
        response = await _post(http, {"query": text})
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def _ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/graphql"


async def _closed_with(ws: AsyncWebSocketSession) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        await ws.receive_json(timeout=10)
    return closed.value.code


async def test_a_websocket_without_connection_init_is_closed_4408(
    base_url: str, http: httpx.AsyncClient
) -> None:
    async with aconnect_ws(
        _ws_url(base_url),
        http,
        subprotocols=["graphql-transport-ws"],
        session_class=AsyncWebSocketSession,
    ) as ws:
        assert await _closed_with(ws) == 4408


async def test_an_oversized_websocket_message_is_closed_4413(
    base_url: str, http: httpx.AsyncClient
) -> None:
    async with aconnect_ws(
        _ws_url(base_url),
        http,
        subprotocols=["graphql-transport-ws"],
        session_class=AsyncWebSocketSession,
    ) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"x": "y" * 2_000_000}})
        assert await _closed_with(ws) == 4413


async def test_operations_per_websocket_are_limited(base_url: str, http: httpx.AsyncClient) -> None:
    subscription = "subscription { eventLog { position } }"
    async with aconnect_ws(
        _ws_url(base_url),
        http,
        subprotocols=["graphql-transport-ws"],
        session_class=AsyncWebSocketSession,
    ) as ws:
        auth = {"Authorization": f"Bearer {token(Role.ADMIN)}"}
        await ws.send_json({"type": "connection_init", "payload": auth})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        for n in range(3):
            payload = {"query": subscription}
            await ws.send_json({"id": str(n), "type": "subscribe", "payload": payload})
        refused = await ws.receive_json(timeout=10)
        assert refused["id"] == "2" and refused["type"] == "error"
