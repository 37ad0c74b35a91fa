"""What the GraphQL end-to-end tests share: a served world, tokens, a small client.

A *served world* is a fresh database holding a simulated world (loaded through
the regular ingest), the real app under uvicorn on it, and the read models
caught up; its :class:`Expected` numbers come from the same generated events.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from starlette.datastructures import Secret

from analytics_graph.auth import Role, issue_token
from analytics_graph.config import Mode, Settings
from analytics_graph.database import create_pool
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Notifier
from analytics_graph.projection import wait_until_applied
from analytics_graph.simulation import SimulationConfig, World, generate_world, load_world
from projections import ALL as PROJECTIONS
from tests.conftest import scratch_database
from tests.e2e.conftest import serving
from tests.e2e.graphql_expected import Expected

SECRET = "e2e-signing-secret-of-at-least-32-bytes"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def token(role: Role, account: object = None) -> str:
    return issue_token(SECRET, role, None if account is None else UUID(str(account)))


@dataclass
class Served:
    """A running app on a database (with a world loaded, or empty)."""

    base_url: str
    database_url: str
    store: EventStore
    world: World | None = None
    expected: Expected | None = None
    http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=60)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        accept: str = GRAPHQL_RESPONSE,
    ) -> httpx.Response:
        headers = {"accept": accept}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.http.post("/graphql", json=body, headers=headers)

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str
    ) -> dict[str, Any]:
        """The answer's data, asserting it came without errors."""
        response = await self.post(query, variables, token=token)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def log_size(self) -> int:
        """How many events the log holds (bad input must leave it unchanged)."""
        conn = await asyncpg.connect(self.database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM events"))
        finally:
            await conn.close()

    async def caught_up(self) -> None:
        """Waits until the read models include everything in the log."""
        position = await self.store.last_position()
        async with self.store.pool.acquire() as conn:
            await wait_until_applied(conn, PROJECTIONS, position)


@contextlib.asynccontextmanager
async def serve(
    server_url: str,
    data_dir: Path,
    config: SimulationConfig | None = None,
    *,
    mode: Mode = Mode.DEVELOPMENT,
    max_ingest_batch: int = 10_000,
) -> AsyncIterator[Served]:
    """Serves a fresh database, with the world of ``config`` loaded when given."""
    async with scratch_database(server_url) as url:
        settings = Settings(
            database_url=url,
            data_dir=data_dir,
            secret=Secret(SECRET),
            mode=mode,
            max_ingest_batch=max_ingest_batch,
        )
        async with serving(settings) as base_url, _writer(url) as store:
            served = Served(base_url, url, store)
            if config is not None:
                served.world = generate_world(config)
                await load_world(served.world, store)
                served.expected = Expected(served.world)
                await served.caught_up()
            try:
                yield served
            finally:
                await served.http.aclose()


@contextlib.asynccontextmanager
async def _writer(url: str) -> AsyncIterator[EventStore]:
    """A store for the test to write with; its commits wake the app's projection runner."""
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        async with Notifier(url) as notifier:
            yield EventStore(pool, notifier)
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def subscribed(
    served: Served, query: str, variables: dict[str, Any] | None, *, token: str
) -> AsyncIterator[AsyncWebSocketSession]:
    """A graphql-transport-ws connection with one subscription (id ``"1"``) started."""
    url = served.base_url.replace("http://", "ws://") + "/graphql"
    async with aconnect_ws(
        url, served.http, subprotocols=["graphql-transport-ws"], session_class=AsyncWebSocketSession
    ) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        payload = {"query": query, "variables": variables or {}}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        yield ws


async def next_message(ws: AsyncWebSocketSession, within: float = 20) -> dict[str, Any]:
    """The next message of subscription ``"1"`` (``next``, ``error`` or ``complete``)."""
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=within)
        if message.get("id") == "1":
            return message
