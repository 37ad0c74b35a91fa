"""``POST /ingest`` in worker processes (``ingest_processes``): what only they can do
wrong. (Every other ``/ingest`` test runs with workers too: ``test_ingest_http.py``.)"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import asyncpg
import httpx
import pytest

from analytics_graph.ingest.client import post_all
from analytics_graph.ingest.ndjson import LineBatch
from analytics_graph.ingest.workers import IngestWorkers, WorkerConfig, WorkerGone
from tests.e2e.ingest_support import bearer, body, world_served

WORKER = b"analytics_graph.ingest.worker"


def workers_of_this_process() -> list[int]:
    """The ingest workers this process started (the app runs under uvicorn in it)."""
    me = os.getpid()
    found = []
    for task in os.listdir(f"/proc/{me}/task"):
        with open(f"/proc/{me}/task/{task}/children") as listed:
            for child in map(int, listed.read().split()):
                with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                    if WORKER in cmdline.read():
                        found.append(child)
    return found


async def test_a_worker_that_dies_answers_503_and_is_started_again(
    server_url: str, tmp_path: Path
) -> None:
    async with world_served(server_url, tmp_path, ingest_processes=1) as w:
        accepted_before = await metric(w.http, ACCEPTED)
        restarts_before = await metric(w.http, RESTARTS)
        assert await metric(w.http, "analytics_graph_ingest_workers") == 1
        assert (await w.ingest(body(w.events[:100]))).json()["accepted"] == 100
        [worker] = workers_of_this_process()
        blocker = await asyncpg.connect(w.database_url)
        try:
            locked = blocker.transaction()
            await locked.start()
            await blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            in_flight = asyncio.create_task(w.ingest(body(w.events[100:200])))
            await asyncio.sleep(1)  # the request waits on the lock, in the worker
            os.kill(worker, signal.SIGKILL)
            answer = await asyncio.wait_for(in_flight, 30)
            await locked.rollback()
        finally:
            await blocker.close()
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "2"
        error = answer.json()["error"]
        assert error["code"] == "SERVICE_UNAVAILABLE"
        assert f"ingest worker {worker} ended" in error["message"]
        assert "sending it again is safe" in error["message"]
        again = await w.ingest(body(w.events[100:200]))  # a new worker takes it
        assert again.status_code == 200 and again.json()["accepted"] == 100
        [restarted] = workers_of_this_process()
        assert restarted != worker
        assert await w.stored() == 200
        assert await metric(w.http, ACCEPTED) == accepted_before + 200  # the server counts
        assert await metric(w.http, RESTARTS) == restarts_before + 1
        assert await metric(w.http, "analytics_graph_ingest_workers") == 1


ACCEPTED = 'analytics_graph_ingest_events_total{path="http",result="accepted"}'
RESTARTS = "analytics_graph_ingest_worker_restarts_total"


async def metric(http: httpx.AsyncClient, series: str) -> float:
    """A series of the server's /metrics (of this process: tests before this one may
    have added to it)."""
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith(series + " "):
            return float(line.removeprefix(series + " "))
    raise AssertionError(f"no {series} in /metrics")


def config_of(url: str) -> WorkerConfig:
    return WorkerConfig(
        database_url=url,
        max_batch=10,
        max_line_bytes=10,
        remembered_ids=0,
        shown_rejections=1,
        pool_max_size=1,
        connect_timeout=1.0,
        acquire_timeout=1.0,
        statement_timeout=1.0,
        mode="production",
    )


async def test_collectors_keep_their_worker_and_new_ones_take_turns() -> None:
    workers = IngestWorkers(config_of("postgresql://unused"), 3)
    slots = [workers.slot(name) for name in ("a", "b", "c", "d", "a", "b", "d")]
    assert slots == [0, 1, 2, 0, 0, 1, 0]


async def test_closed_workers_take_no_request_and_start_no_process() -> None:
    before = set(workers_of_this_process())
    workers = IngestWorkers(config_of("postgresql://unused"), 2)
    await workers.close(grace=1)
    with pytest.raises(WorkerGone, match="the server is stopping"):
        await workers.ingest("collector", [LineBatch(1, [b"{}"], 2)], skip_invalid=False)
    assert workers.pids == [] and set(workers_of_this_process()) <= before


async def test_one_collector_with_two_requests_in_flight_stores_every_event_once(
    server_url: str, tmp_path: Path
) -> None:
    """Two requests in flight (two connections) with lines re-sent among them: every
    id is stored once, and the re-sent ones are counted as duplicates."""
    async with world_served(server_url, tmp_path, ingest_processes=2) as w:
        events = w.events[:1100]
        path = tmp_path / "events.ndjson"
        path.write_bytes(body(events[:400] + events[200:600] + events[400:]))
        token = bearer()["Authorization"].removeprefix("Bearer ")
        with path.open("rb") as stream:
            summary = await post_all(w.base_url, token, stream, batch_size=100, writers=2)
        assert summary.failure is None
        assert (summary.accepted, summary.duplicates, summary.rejected) == (1100, 400, 0)
        assert sorted(await w.stored_ids()) == sorted(e["eventId"] for e in events)
