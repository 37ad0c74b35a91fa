"""What an operator sees, through the real app: /metrics, /readyz, request ids, logs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from analytics_graph.app import create_app
from analytics_graph.auth import Role
from analytics_graph.config import Mode
from analytics_graph.observability.logs import JSONFormatter
from tests.e2e.ingest_support import SECRET, bearer, body, settings_for, world_served


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search("^" + pattern + "$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_metrics_count_ingest_graphql_and_subscriptions(
    server_url: str, tmp_path: Path
) -> None:
    async with world_served(server_url, tmp_path) as w:
        before = (await w.http.get("/metrics")).text
        events = w.events[:120]
        await w.ingest(body(events[:100]))
        await w.ingest(body([*events[90:120], {"type": "view"}]), query="?skipInvalid=true")
        mutation = """mutation Rec($events: [EngagementEventInput!]!) {
          recordEngagement(events: $events) { ... on IngestResult { accepted } } }"""
        view = w.events[200]
        fields = {k: v for k, v in view.items() if k != "type"}
        graphql_event = {view["type"]: fields}
        answer = await w.http.post(
            "/graphql",
            json={
                "query": mutation,
                "variables": {"events": [graphql_event]},
                "operationName": "Rec",
            },
            headers=bearer(Role.ADMIN),
        )
        assert answer.json()["data"]["recordEngagement"] == {"accepted": 1}
        account = w.world.accounts[0].id
        me = {"query": "query Me { me { id } }", "operationName": "Me"}
        for _ in range(2):
            await w.http.post("/graphql", json=me, headers=bearer(Role.CREATOR, account))
        bad = {"query": "query Broken { nope }", "operationName": "Broken"}
        await w.http.post("/graphql", json=bad, headers=bearer(Role.CREATOR, account))
        async with _subscription(w.base_url, w.http):
            during = (await w.http.get("/metrics")).text
        await asyncio.sleep(0.2)
        after = (await w.http.get("/metrics")).text

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    events_total = "analytics_graph_ingest_events_total"
    assert delta(events_total, path="http", result="accepted") == 120
    assert delta(events_total, path="http", result="duplicate") == 10
    assert delta(events_total, path="http", result="rejected") == 1
    assert delta(events_total, path="graphql", result="accepted") == 1
    assert delta("analytics_graph_append_seconds_count") == 3
    latency = "analytics_graph_graphql_request_seconds_count"
    assert delta(latency, operation="Me", outcome="ok") == 2
    assert delta(latency, operation="Broken", outcome="error") == 1
    assert delta(latency, operation="Rec", outcome="ok") == 1
    assert sample(during, "analytics_graph_subscriptions_open") == 1
    assert sample(after, "analytics_graph_subscriptions_open") == 0
    for name in ("in_use", "idle", "waiting", "max"):
        assert f'analytics_graph_db_pool_connections{{state="{name}"}}' in after
    assert sample(after, "analytics_graph_db_pool_connections", state="max") == 10
    assert 'analytics_graph_answer_cache_requests_total{result="miss"}' in after
    for projection in ("entities", "engagement", "video_reach", "followers"):
        assert f'analytics_graph_projection_position{{projection="{projection}"}}' in after
        assert f'analytics_graph_projection_lag_seconds{{projection="{projection}"}}' in after


@contextlib.asynccontextmanager
async def _subscription(base_url: str, http: httpx.AsyncClient) -> AsyncIterator[None]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with aconnect_ws(
        url, http, subprotocols=["graphql-transport-ws"], session_class=AsyncWebSocketSession
    ) as ws:
        auth = bearer(Role.AUDITOR)
        await ws.send_json({"type": "connection_init", "payload": auth})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        query = "subscription { eventLog(after: 0) { position } }"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        await ws.receive_json(timeout=10)  # the subscription runs
        yield
        await ws.send_json({"id": "1", "type": "complete"})


async def test_metrics_need_loopback_or_the_token(server_url: str, tmp_path: Path) -> None:
    from starlette.datastructures import Secret

    from tests.conftest import scratch_database

    async with scratch_database(server_url) as url:
        app = create_app(settings_for(url, tmp_path, metrics_token=Secret("scrape-me")))
        async with app.router.lifespan_context(app):
            remote = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
            async with httpx.AsyncClient(transport=remote, base_url="http://svc") as client:
                refused = await client.get("/metrics")
                assert refused.status_code == 403
                assert "METRICS_TOKEN" in refused.json()["error"]["message"]
                wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
                assert wrong.status_code == 403
                ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
                assert ok.status_code == 200
                assert "analytics_graph_ingest_events_total" in ok.text
            local = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
            async with httpx.AsyncClient(transport=local, base_url="http://svc") as client:
                assert (await client.get("/metrics")).status_code == 200


async def test_readyz_follows_the_projections_lag(server_url: str, tmp_path: Path) -> None:
    async with world_served(server_url, tmp_path, ready_max_lag_seconds=1.0) as w:
        ready = await _poll_ready(w.http, 200)
        assert ready["status"] == "ready" and ready["projections"]
        assert (await w.http.get("/healthz")).json()["status"] == "ok"
        # Hold every projection's checkpoint row: no batch can commit meanwhile.
        blocker = await asyncpg.connect(w.database_url)
        try:
            async with blocker.transaction():
                await blocker.execute("SELECT * FROM projection_checkpoints FOR UPDATE")
                await w.ingest(body(w.events[:50]))
                behind = await _poll_ready(w.http, 503)
                assert behind["status"] == "not ready"
                reasons = behind["reasons"]
                assert isinstance(reasons, list)
                assert any("events behind" in reason for reason in reasons)
        finally:
            await blocker.close()
        assert (await _poll_ready(w.http, 200))["status"] == "ready"


async def _poll_ready(http: httpx.AsyncClient, status: int) -> dict[str, object]:
    for _ in range(300):
        answer = await http.get("/readyz")
        if answer.status_code == status:
            result: dict[str, object] = answer.json()
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"/readyz never answered {status}: {answer.text}")


@contextlib.contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every log line the process writes meanwhile, formatted as in production."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_request_ids_and_logs_without_secrets_or_payloads(
    server_url: str, tmp_path: Path
) -> None:
    marker = "viewer-MARKER-7f3a"
    async with world_served(server_url, tmp_path, mode=Mode.PRODUCTION) as w:
        view = next(e for e in w.events if e["type"] == "view")
        leaky = [{**view, "viewerId": marker}, {**view, "eventId": "x", "viewerId": marker}]
        token = bearer()["Authorization"].split()[1]
        with captured_logs() as lines:
            given = await w.ingest(body(leaky), headers={"X-Request-ID": "collector-42.a"})
            generated = await w.ingest(body(leaky), headers={"X-Request-ID": "bad id!"})
            query = {"query": "query Q($v: String) { me { id } }", "variables": {"v": marker}}
            await w.http.post(f"/graphql?token={token}", json=query, headers=bearer())
            logging.getLogger("test").error("a failure mentioning Bearer %s", token)
    assert given.headers["X-Request-ID"] == "collector-42.a"
    assert given.status_code == 422 and marker not in str(given.json()["rejected"])
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    requests = [line for line in lines if '"message":"request"' in line]
    assert len(requests) == 3
    assert '"request_id":"collector-42.a"' in requests[0]
    assert '"path":"/ingest"' in requests[0] and '"status":422' in requests[0]
    assert '"operation":"anonymous"' in requests[2] and '"outcome"' in requests[2]
    assert '"duration_ms"' in requests[0]
    for line in lines:
        assert token not in line and marker not in line and SECRET not in line, line
    assert any("[redacted]" in line for line in lines)


@pytest.mark.parametrize("mode", [Mode.DEVELOPMENT])
def test_development_logs_are_lines_for_people(mode: Mode) -> None:
    from analytics_graph.observability.logs import ConsoleFormatter, request_id

    token = request_id.set("r-1")
    try:
        record = logging.makeLogRecord(
            {"name": "x", "levelname": "INFO", "msg": "request", "fields": {"status": 200}}
        )
        line = ConsoleFormatter().format(record)
    finally:
        request_id.reset(token)
    assert line.endswith("INFO    x [r-1] request status=200")
