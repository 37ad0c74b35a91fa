"""kill -9 of the server while a collector posts ``recordEngagement`` batches: no
acknowledged event is lost, and resending every batch stores none twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from analytics_graph.auth import Role
from tests.e2e.conftest import free_port
from tests.e2e.graphql_support import SECRET, token

pytestmark = pytest.mark.slow
REGISTER = (
    "mutation A($handle: String!) { registerAccount(input: {handle: $handle,"
    " displayName: $handle}) { ... on Account { id } } }"
)
RECORD = (
    "mutation R($events: [EngagementEventInput!]!) { recordEngagement(events: $events)"
    " { __typename ... on IngestResult { accepted duplicates } } }"
)
BATCHES, PER_BATCH = 60, 200


class ServerProcess:
    """``analytics-graph serve`` in a process of its own, so it can be killed."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url, self.folder = url, folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        env = dict(os.environ)
        env.update(
            ANALYTICS_GRAPH_DATABASE_URL=self.url,
            ANALYTICS_GRAPH_SECRET=SECRET,
            ANALYTICS_GRAPH_DATA_DIR=str(self.folder),
        )
        command = [sys.executable, "-c", "from analytics_graph.cli import main; main()"]
        self.process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [*command, "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                try:
                    if (await client.get(self.base + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def _batch(account: str) -> list[dict[str, Any]]:
    return [
        {
            "profileView": {
                "eventId": str(uuid.uuid4()),
                "occurredAt": datetime(2025, 5, 20, 12, tzinfo=UTC).isoformat(),
                "accountId": account,
                "viewerId": f"v{n}",
            }
        }
        for n in range(PER_BATCH)
    ]


async def _post(http: httpx.AsyncClient, base: str, query: str, variables: dict[str, Any]) -> Any:
    headers = {"authorization": f"Bearer {token(Role.ADMIN)}"}
    response = await http.post(
        base + "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return response.json()


async def test_kill_9_during_ingest_loses_no_acknowledged_event(
    database_url: str, tmp_path: Path
) -> None:
    server = ServerProcess(database_url, tmp_path)
    acknowledged: list[str] = []
    try:
        await server.start()
        async with httpx.AsyncClient(timeout=60) as http:
            registered = await _post(http, server.base, REGISTER, {"handle": "killed"})
            account = registered["data"]["registerAccount"]["id"]
            batches = [_batch(account) for _ in range(BATCHES)]

            async def collector(mine: list[list[dict[str, Any]]]) -> None:
                for batch in mine:
                    try:
                        answer = await _post(http, server.base, RECORD, {"events": batch})
                    except httpx.TransportError:
                        return  # the server died: this batch was not acknowledged
                    if answer.get("data", {}).get("recordEngagement", {}).get("accepted"):
                        acknowledged.extend(e["profileView"]["eventId"] for e in batch)

            collectors = [
                asyncio.create_task(collector(batches[0::2])),
                asyncio.create_task(collector(batches[1::2])),
            ]
            while len(acknowledged) < 10 * PER_BATCH:  # noqa: ASYNC110 - polls the collectors
                await asyncio.sleep(0.01)
            server.kill()  # mid-stream: requests in flight die with it
            await asyncio.gather(*collectors)
            assert 10 * PER_BATCH <= len(acknowledged) < BATCHES * PER_BATCH

            await server.start()
            resent = [await _post(http, server.base, RECORD, {"events": b}) for b in batches]
        results = [r["data"]["recordEngagement"] for r in resent]
        assert all(r["__typename"] == "IngestResult" for r in results), results
        accepted = sum(r["accepted"] for r in results)
        duplicates = sum(r["duplicates"] for r in results)
        assert accepted + duplicates == BATCHES * PER_BATCH
        assert duplicates >= len(acknowledged)
    finally:
        server.stop()
    all_ids = [e["profileView"]["eventId"] for b in batches for e in b]
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT event_id::text AS id, count(*) AS n FROM events"
            " WHERE event_id = ANY($1::uuid[]) GROUP BY event_id",
            all_ids,
        )
    finally:
        await conn.close()
    stored = {r["id"]: r["n"] for r in rows}
    assert set(acknowledged) <= set(stored)  # nothing acknowledged was lost
    assert set(stored) == set(all_ids)  # everything is there after resending
    assert set(stored.values()) == {1}  # and nothing twice
