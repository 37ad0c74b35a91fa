"""``analytics-graph serve`` as a real process: SIGTERM drains and exits 0; kill -9 during
HTTP ingest loses no acknowledged event and, after the collector resends, stores none twice."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws

from analytics_graph.database import create_pool
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.schema import migrate
from analytics_graph.ingest.client import post_batch
from analytics_graph.ingest.ndjson import LineBatch
from analytics_graph.simulation import aggregate_events, generate_world
from tests.cli import cli_environment, running
from tests.conftest import scratch_database
from tests.e2e.conftest import free_port
from tests.e2e.ingest_support import CONFIG, SECRET, bearer, body

pytestmark = pytest.mark.slow


@contextlib.asynccontextmanager
async def world_database(server_url: str) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A fresh database with the world's aggregates; yields its DSN and unique events."""
    world = generate_world(CONFIG)
    async with scratch_database(server_url) as url:
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            await EventStore(pool).append(aggregate_events(world))
        finally:
            await pool.close()
        unique = {e["eventId"]: e for e in world.events()}
        yield url, list(unique.values())


async def start(url: str, port: int, log: Path, processes: int = 0) -> asyncio.subprocess.Process:
    env = cli_environment({
        "ANALYTICS_GRAPH_INGEST_PROCESSES": str(processes),
        "ANALYTICS_GRAPH_DATABASE_URL": url,
        "ANALYTICS_GRAPH_SECRET": SECRET,
        "ANALYTICS_GRAPH_MODE": "production",
        "ANALYTICS_GRAPH_DATA_DIR": str(log.parent),
        "ANALYTICS_GRAPH_SHUTDOWN_GRACE_SECONDS": "20",
    })  # fmt: skip
    with log.open("ab") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "analytics_graph", "serve", "--port", str(port),
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if proc.returncode is not None:
                raise AssertionError(log.read_text())  # noqa: ASYNC240 - a failure report
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return proc
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not start within a minute")


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def stored_ids(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT event_id::text FROM events WHERE event_id IS NOT NULL")
    finally:
        await conn.close()
    return [r[0] for r in rows]


@pytest.fixture(params=[0, 2], ids=["in-process", "2-workers"])
def processes(request: pytest.FixtureRequest) -> int:
    """``ANALYTICS_GRAPH_INGEST_PROCESSES``: ingest in the server, or in two workers."""
    return int(request.param)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (its ingest workers)."""
    with open(f"/proc/{pid}/task/{pid}/children") as listed:
        return [int(child) for child in listed.read().split()]


async def ended(pids: list[int]) -> bool:
    """Whether every one of ``pids`` ends within a minute."""
    for _ in range(600):
        if not any(map(running, pids)):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_sigterm_finishes_in_flight_ingest_closes_websockets_and_exits_0(
    server_url: str, tmp_path: Path, processes: int
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    async with world_database(server_url) as (url, events):
        proc = await start(url, port, log, processes)
        workers = children(proc.pid)
        assert len(workers) == processes
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                ws_url = base.replace("http://", "ws://") + "/graphql"
                async with aconnect_ws(
                    ws_url,
                    http,
                    subprotocols=["graphql-transport-ws"],
                    session_class=AsyncWebSocketSession,
                ) as ws:
                    await ws.send_json({"type": "connection_init", "payload": bearer()})
                    assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
                    blocker = await asyncpg.connect(url)
                    locked = blocker.transaction()
                    await locked.start()
                    await blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
                    headers = {"Content-Type": "application/x-ndjson", **bearer()}
                    in_flight = asyncio.create_task(
                        http.post("/ingest", content=body(events[:500]), headers=headers)
                    )
                    await asyncio.sleep(1)  # the request waits on the lock, in flight
                    proc.send_signal(signal.SIGTERM)
                    await asyncio.sleep(1)
                    with pytest.raises(httpx.TransportError):  # no longer accepting
                        async with httpx.AsyncClient(timeout=5) as fresh:
                            await fresh.get(base + "/healthz")
                    closed = await _closed_code(ws)
                    await locked.rollback()
                    await blocker.close()
                    answer = await in_flight
            code = await asyncio.wait_for(proc.wait(), 60)
        finally:
            await stop(proc)
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 500
        assert closed == 1012  # "service restart": clients reconnect
        assert code == 0, log.read_text()
        assert len(await stored_ids(url)) == 500
        assert '"message":"stopped"' in log.read_text()
        assert await ended(workers)


async def _closed_code(ws: AsyncWebSocketSession) -> int:
    try:
        while True:
            await ws.receive_json(timeout=30)
    except WebSocketDisconnect as closed:
        return closed.code


async def test_kill_9_during_http_ingest_loses_no_acknowledged_event(
    server_url: str, tmp_path: Path, processes: int
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    async with world_database(server_url) as (url, events):
        lines = body(events).splitlines(keepends=True)
        chunks = [LineBatch(i + 1, lines[i : i + 50], 0) for i in range(0, len(lines), 50)]
        acknowledged: list[LineBatch] = []
        proc = await start(url, port, log, processes)
        workers = children(proc.pid)
        try:
            headers = {"Content-Type": "application/x-ndjson", **bearer()}
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
                a_third = asyncio.Event()

                async def collector() -> None:
                    for chunk in chunks:
                        answer = await post_batch(http, chunk, skip_invalid=False)
                        assert answer["written"], answer
                        acknowledged.append(chunk)
                        if len(acknowledged) >= len(chunks) // 3:
                            a_third.set()

                running = asyncio.create_task(collector())
                await asyncio.wait_for(a_third.wait(), 60)
                proc.kill()  # kill -9, in the middle of the collector's requests
                acknowledged_before_kill = list(acknowledged)
                await proc.wait()
                orphans_ended = await ended(workers)  # their input closed with the server
                before_restart = set(await stored_ids(url))
                proc = await start(url, port, log, processes)  # the collector keeps retrying
                await asyncio.wait_for(running, 120)
            stored = await stored_ids(url)
        finally:
            await stop(proc)
    assert orphans_ended
    promised = {_event_id(line) for chunk in acknowledged_before_kill for line in chunk.lines}
    assert promised and promised <= before_restart  # nothing acknowledged was lost
    assert len(acknowledged) == len(chunks)
    assert len(stored) == len(set(stored))  # nothing stored twice
    assert set(stored) == {e["eventId"] for e in events}


def _event_id(line: bytes) -> str:
    return str(orjson.loads(line)["eventId"])
