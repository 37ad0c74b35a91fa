"""PostgreSQL restarts under the running server: queries, mutations and
subscriptions during the outage and after it (issue 16, section 3).

Each test starts a throwaway cluster of its own (``cluster.py``); the shared
server is never restarted. During the outage every request fails fast with
``SERVICE_UNAVAILABLE``; afterwards the server has recovered by itself: the pool,
the LISTEN connections, the projection runner and the subscriptions.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from starlette.datastructures import Secret

import projections
from analytics_graph.auth import Role
from analytics_graph.config import Settings
from analytics_graph.database import create_pool
from analytics_graph.eventstore import EventStore
from analytics_graph.projection import wait_until_applied
from analytics_graph.simulation import (
    SimulationConfig,
    aggregate_events,
    generate_world,
    write_ndjson,
)
from tests.e2e.conftest import serving
from tests.e2e.graphql_support import GRAPHQL_RESPONSE, SECRET, token
from tests.faults.cluster import Cluster, available, throwaway_cluster

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not available(), reason="needs PostgreSQL 15 binaries"),
]
REGISTER = (
    "mutation A($handle: String!) { registerAccount(input: {handle: $handle,"
    " displayName: $handle}) { ... on Account { id } } }"
)
RECORD = (
    "mutation R($events: [EngagementEventInput!]!) { recordEngagement(events: $events)"
    " { __typename ... on IngestResult { accepted duplicates } } }"
)
QUERY = "query Q { eventLog(first: 1) { events { type } } }"
LOG = "subscription { eventLog { position data } }"


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    with throwaway_cluster() as started:
        yield started


def _settings(url: str, folder: Path) -> Settings:
    return Settings(
        database_url=url,
        data_dir=folder,
        secret=Secret(SECRET),
        database_connect_timeout=2.0,
        database_acquire_timeout=2.0,
    )


def _views(account: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "profileView": {
                "eventId": str(uuid.uuid4()),
                "occurredAt": datetime(2025, 5, 20, 12, tzinfo=UTC).isoformat(),
                "accountId": account,
                "viewerId": "v",
            }
        }
        for _ in range(count)
    ]


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["profileView"]["eventId"] for e in events]


class Client:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, accept: str = GRAPHQL_RESPONSE
    ) -> httpx.Response:
        headers = {"accept": accept, "authorization": f"Bearer {token(Role.ADMIN)}"}
        body = {"query": query, "variables": variables or {}}
        return await self.http.post("/graphql", json=body, headers=headers)

    async def record(self, events: list[dict[str, Any]]) -> httpx.Response:
        return await self.post(RECORD, {"events": events})

    async def until_answered(self) -> None:
        """Polls a query until it is answered (the server recovered by itself)."""
        for _ in range(120):
            response = await self.post(QUERY)
            if response.status_code == 200 and "errors" not in response.json():
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"still failing after the restart: {response.text}")


def _unavailable(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(("application/json", GRAPHQL_RESPONSE))
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["SERVICE_UNAVAILABLE"], errors
    assert errors[0]["extensions"]["retryable"] is True
    assert response.headers["retry-after"]


async def _log_ids(ws: AsyncWebSocketSession, wanted: set[str]) -> list[str]:
    """Event ids the eventLog subscription delivers until all of ``wanted`` came."""
    seen: list[str] = []
    positions: list[int] = []
    while not wanted <= set(seen):
        message = await ws.receive_json(timeout=60)
        assert message["type"] == "next", message
        event = message["payload"]["data"]["eventLog"]
        positions.append(event["position"])
        text = orjson.dumps(event["data"]).decode()
        seen.append(next((i for i in wanted if i in text), ""))
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    return seen


async def test_the_server_rides_out_a_database_restart(cluster: Cluster, tmp_path: Path) -> None:
    async with (
        serving(_settings(cluster.url, tmp_path)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        client = Client(http)
        registered = await client.post(REGISTER, {"handle": "restart"})
        account = registered.json()["data"]["registerAccount"]["id"]
        ws_url = base.replace("http://", "ws://") + "/graphql"
        async with aconnect_ws(
            ws_url, http, subprotocols=["graphql-transport-ws"], session_class=AsyncWebSocketSession
        ) as ws:
            auth = {"Authorization": f"Bearer {token(Role.ADMIN)}"}
            await ws.send_json({"type": "connection_init", "payload": auth})
            assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": LOG}})
            before = _views(account, 5)
            assert (await client.record(before)).status_code == 200
            assert set(_ids(before)) <= set(await _log_ids(ws, set(_ids(before))))

            cluster.stop()
            # During the outage: fast, coded answers (503 / 200 by media type).
            _unavailable(await client.post(QUERY), 503)
            _unavailable(await client.post(QUERY, accept="application/json"), 200)
            during = _views(account, 5)
            refused = await client.record(during)
            assert refused.status_code == 503, refused.text
            assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            health = await http.get("/healthz")
            assert health.status_code == 503

            cluster.start()
            await client.until_answered()
            resent = await client.record(during)  # the collector resends what failed
            after = _views(account, 5)
            recorded = await client.record(after)
            assert resent.json()["data"]["recordEngagement"]["accepted"] == 5
            assert recorded.json()["data"]["recordEngagement"]["accepted"] == 5
            # The subscription resumed where it was: every event once, in log order.
            delivered = await _log_ids(ws, set(_ids(during) + _ids(after)))
            assert sorted(i for i in delivered if i) == sorted(_ids(during) + _ids(after))
        await _projections_caught_up(cluster.url)


async def _projections_caught_up(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        position = int(await conn.fetchval("SELECT coalesce(max(position), 0) FROM events"))
        await wait_until_applied(conn, projections.ALL, position, within=60)
    finally:
        await conn.close()


async def test_metric_subscriptions_survive_a_restart(cluster: Cluster, tmp_path: Path) -> None:
    async with (
        serving(_settings(cluster.url, tmp_path)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        client = Client(http)
        registered = await client.post(REGISTER, {"handle": "metrics"})
        account = registered.json()["data"]["registerAccount"]["id"]
        ws_url = base.replace("http://", "ws://") + "/graphql"
        query = "subscription M($id: ID!) { accountMetrics(accountId: $id) { accountId position } }"
        async with aconnect_ws(
            ws_url, http, subprotocols=["graphql-transport-ws"], session_class=AsyncWebSocketSession
        ) as ws:
            auth = {"Authorization": f"Bearer {token(Role.ADMIN)}"}
            await ws.send_json({"type": "connection_init", "payload": auth})
            assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
            payload = {"query": query, "variables": {"id": account}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            await asyncio.sleep(0.5)  # the subscription is listening
            cluster.restart()
            await client.until_answered()
            assert (await client.record(_views(account, 3))).status_code == 200
            while True:
                message = await ws.receive_json(timeout=60)
                assert message["type"] == "next", message
                if message["payload"]["data"]["accountMetrics"]["accountId"] == account:
                    break


async def test_ingest_interrupted_by_a_restart_is_completed_by_resending(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The CLI ingest fails (exit 3) when the database restarts under it, writing whole
    batches or nothing of each; run again, it writes the rest and nothing twice; the
    server's projections catch up by themselves."""
    world = generate_world(SimulationConfig(seed=16, accounts=6, events=60_000, weeks=2))
    path = tmp_path / "events.ndjson"
    with path.open("wb") as stream:
        write_ndjson(world.events(), stream)
    unique = len({e["eventId"] for e in world.events()})
    async with serving(_settings(cluster.url, tmp_path)) as _base:
        pool = await create_pool(cluster.url, min_size=1, max_size=2)
        try:
            await EventStore(pool).append(aggregate_events(world))
        finally:
            await pool.close()
        command = [sys.executable, "-c", "from analytics_graph.cli import main; main()"]
        env = {"ANALYTICS_GRAPH_DATABASE_URL": cluster.url, "PATH": "/usr/bin:/bin"}
        first = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [*command, "ingest", str(path), "--batch-size", "2000"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        await _until_some_written(cluster.url)
        await asyncio.to_thread(cluster.restart)
        output = (await asyncio.to_thread(first.communicate, None, 120))[0].decode()
        assert first.returncode in (0, 3), output
        again = await asyncio.to_thread(
            subprocess.run,
            [*command, "ingest", str(path), "--batch-size", "2000"],
            env=env,
            capture_output=True,
            timeout=300,
        )
        assert again.returncode == 0, again.stdout.decode() + again.stderr.decode()
        conn = await asyncpg.connect(cluster.url)
        try:
            stored = await conn.fetchrow(
                "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events"
                " WHERE event_id IS NOT NULL"
            )
        finally:
            await conn.close()
        assert stored is not None and (stored["n"], stored["d"]) == (unique, unique)
        await _projections_caught_up(cluster.url)


async def _until_some_written(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for _ in range(600):
            if await conn.fetchval("SELECT count(*) FROM events WHERE event_id IS NOT NULL"):
                return
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
