"""Queries on streaming replicas: a throwaway primary with two hot standbys, the real
app under uvicorn reading from both (``ANALYTICS_GRAPH_READ_DATABASE_URL``).

Expected numbers are counts of the view events in the primary's log (the events
this test sent), never the API's own figures.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.datastructures import Secret

from analytics_graph.auth import Role
from analytics_graph.config import Settings
from tests.cluster import Cluster, available, throwaway_cluster
from tests.e2e.conftest import serving
from tests.e2e.graphql_support import SECRET, token

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not available(), reason="needs the PostgreSQL server binaries"),
]

ADMIN, INGEST, AUDITOR = token(Role.ADMIN), token(Role.INGEST), token(Role.AUDITOR)
POSITION, MIN_POSITION, READ = (
    "analytics-graph-position",
    "analytics-graph-min-position",
    "analytics-graph-read",
)
VIEWS = "query V($id: ID!) { video(id: $id) { analytics { views } } }"
RECORD = """mutation E($events: [EngagementEventInput!]!) { recordEngagement(events: $events) {
  ... on IngestResult { accepted } } }"""
LOG = """query L($after: Position) { eventLog(after: $after, first: 1000) {
  events { position type } } }"""
VIDEO_METRICS = """subscription S($id: ID!) { videoMetrics(videoId: $id) {
  position video { analytics { views } } } }"""


@dataclass
class Replicated:
    cluster: Cluster
    http: httpx.AsyncClient
    base_url: str
    video: str
    creator: str

    async def post(
        self, query: str, variables: dict[str, Any], bearer: str, headers: dict[str, str] | None
    ) -> httpx.Response:
        sent = {"authorization": f"Bearer {bearer}", **(headers or {})}
        body = {"query": query, "variables": variables}
        return await self.http.post("/graphql", json=body, headers=sent)

    async def data(
        self,
        query: str,
        variables: dict[str, Any],
        bearer: str,
        headers: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], httpx.Headers]:
        response = await self.post(query, variables, bearer, headers)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        return body["data"], response.headers

    async def record_views(self, count: int) -> int:
        """Records ``count`` views; returns the position the answer names."""
        at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        events = [
            {"view": {"eventId": str(uuid.uuid4()), "occurredAt": at, "videoId": self.video,
                      "viewerId": f"u{i}", "watchedSeconds": 3.0, "source": "FOR_YOU"}}
            for i in range(count)
        ]  # fmt: skip
        data, headers = await self.data(RECORD, {"events": events}, INGEST)
        assert data["recordEngagement"]["accepted"] == count
        return int(headers[POSITION])

    async def views(self, headers: dict[str, str] | None = None) -> tuple[int, httpx.Headers]:
        data, sent = await self.data(VIEWS, {"id": self.video}, self.creator, headers)
        return data["video"]["analytics"]["views"], sent

    async def settle(self) -> None:
        """Waits until every replica shows the read models with everything written so far."""
        position = await self.record_views(1)
        await self.views({MIN_POSITION: str(position)})  # a replica (so the primary) has it
        for index in range(len(self.cluster.standbys)):
            await self.cluster.caught_up(index)

    async def views_in_log(self) -> int:
        """The oracle: view events of the video in the primary's log."""
        conn = await asyncpg.connect(self.cluster.primary_url)
        try:
            sql = "SELECT count(*) FROM events WHERE type = 'view' AND stream_id = $1"
            return int(await conn.fetchval(sql, self.video))
        finally:
            await conn.close()


async def _setup_world(served: Replicated) -> None:
    register = """mutation { registerAccount(input: {handle: "lag", displayName: "Lag"}) {
      ... on Account { id } } }"""
    data, headers = await served.data(register, {}, ADMIN)
    assert int(headers[POSITION]) > 0
    account = data["registerAccount"]["id"]
    pro = """mutation P($id: ID!) {
      switchToProAccount(accountId: $id, type: CREATOR) { __typename } }"""
    await served.data(pro, {"id": account}, ADMIN)
    publish = """mutation V($id: ID!, $at: DateTime!) { publishVideo(input: {accountId: $id,
      caption: "c", durationSeconds: 10, publishedAt: $at}) { ... on Video { id } } }"""
    at = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    data, _ = await served.data(publish, {"id": account, "at": at}, ADMIN)
    served.video, served.creator = data["publishVideo"]["id"], token(Role.CREATOR, account)


@pytest.fixture(scope="module")
async def replicated(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replicated]:
    async with throwaway_cluster(standbys=2) as cluster:
        settings = Settings(
            database_url=cluster.primary_url,
            read_database_urls=tuple(cluster.standby_urls),
            data_dir=Path(tmp_path_factory.mktemp("replicas")),
            secret=Secret(SECRET),
        )
        async with serving(settings) as base_url:
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
                served = Replicated(cluster, http, base_url, "", "")
                await _setup_world(served)
                yield served


async def test_queries_read_a_replica_that_includes_the_position_a_write_returned(
    replicated: Replicated,
) -> None:
    position = await replicated.record_views(3)
    views, headers = await replicated.views({MIN_POSITION: str(position)})
    assert views == await replicated.views_in_log()
    assert headers[READ].startswith("replica-")
    assert int(headers[POSITION]) >= position


async def test_a_lagging_replica_answers_alone_and_is_passed_over_for_a_newer_position(
    replicated: Replicated,
) -> None:
    await replicated.settle()
    before = await replicated.views_in_log()
    for index in (0, 1):
        await replicated.cluster.pause_replay(index)
    try:
        position = await replicated.record_views(2)
        stale, headers = await replicated.views()  # no position asked: a replica's state
        assert stale == before
        assert headers[READ].startswith("replica-")
        assert int(headers[POSITION]) < position
        fresh, headers = await replicated.views({MIN_POSITION: str(position)})
        assert fresh == before + 2 == await replicated.views_in_log()
        assert headers[READ] == "primary"
    finally:
        for index in (0, 1):
            await replicated.cluster.resume_replay(index)
    views, headers = await replicated.views({MIN_POSITION: str(position)})
    assert views == before + 2
    assert headers[READ].startswith("replica-")


async def test_the_answer_cache_never_goes_back_to_a_lagging_replicas_state(
    replicated: Replicated,
) -> None:
    await replicated.settle()
    await replicated.cluster.pause_replay(1)  # replica-2 lags, replica-1 follows
    try:
        position = await replicated.record_views(4)
        expected = await replicated.views_in_log()
        fresh, _ = await replicated.views({MIN_POSITION: str(position)})
        assert fresh == expected
        served_by: set[str] = set()
        for _ in range(6):  # replicas take turns
            views, headers = await replicated.views()
            assert views == expected, headers
            served_by.add(headers[READ])
        assert "replica-2" in served_by  # the lagging one answered, from the cache
    finally:
        await replicated.cluster.resume_replay(1)


async def test_the_event_log_on_a_lagging_replica_is_completed_from_the_primary(
    replicated: Replicated,
) -> None:
    conn = await asyncpg.connect(replicated.cluster.primary_url)
    try:
        await replicated.settle()
        start = int(await conn.fetchval("SELECT max(position) FROM events"))
        for index in (0, 1):
            await replicated.cluster.pause_replay(index)
        try:
            await replicated.record_views(3)
            data, _ = await replicated.data(LOG, {"after": start - 5}, AUDITOR)
            rows = await conn.fetch(
                "SELECT position, type FROM events WHERE position > $1 ORDER BY position",
                start - 5,
            )
        finally:
            for index in (0, 1):
                await replicated.cluster.resume_replay(index)
    finally:
        await conn.close()
    got = [(e["position"], e["type"]) for e in data["eventLog"]["events"]]
    assert got == [(r["position"], r["type"]) for r in rows]
    assert sum(1 for _, kind in got if kind == "view") >= 3


async def test_subscription_updates_on_lagging_replicas_show_what_the_notice_announced(
    replicated: Replicated,
) -> None:
    from httpx_ws import AsyncWebSocketSession, aconnect_ws

    url = replicated.base_url.replace("http://", "ws://") + "/graphql"
    await replicated.settle()
    for index in (0, 1):
        await replicated.cluster.pause_replay(index)
    try:
        async with aconnect_ws(
            url,
            replicated.http,
            subprotocols=["graphql-transport-ws"],
            session_class=AsyncWebSocketSession,
        ) as ws:
            init = {"Authorization": f"Bearer {replicated.creator}"}
            await ws.send_json({"type": "connection_init", "payload": init})
            assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
            payload = {"query": VIDEO_METRICS, "variables": {"id": replicated.video}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            await asyncio.sleep(0.3)
            await replicated.record_views(2)
            message = await ws.receive_json(timeout=30)
    finally:
        for index in (0, 1):
            await replicated.cluster.resume_replay(index)
    assert message["type"] == "next", message
    update = message["payload"]["data"]["videoMetrics"]
    assert update["video"]["analytics"]["views"] == await replicated.views_in_log()


async def test_reads_go_to_the_primary_while_replicas_are_away_and_come_back_after(
    replicated: Replicated,
) -> None:
    await replicated.views()  # the pools hold connections to the replicas
    for index in (0, 1):
        await asyncio.to_thread(replicated.cluster.stop_standby, index)
    try:
        position = await replicated.record_views(1)
        for headers in ({MIN_POSITION: str(position)}, None):
            views, sent = await replicated.views(headers)
            assert views == await replicated.views_in_log()
            assert sent[READ] == "primary"
    finally:
        for index in (0, 1):
            await asyncio.to_thread(replicated.cluster.start_standby, index)
    async with asyncio.timeout(30):  # left out for a while, then tried again
        while True:
            views, sent = await replicated.views({MIN_POSITION: str(position)})
            assert views == await replicated.views_in_log()
            if sent[READ].startswith("replica-"):
                break
            await asyncio.sleep(0.5)


@pytest.mark.parametrize(
    ("value", "reason"),
    [("abc", "is not a log position"), ("-1", "is not a log position"),
     ("99999999999999999999", "is not a log position"),
     ("9000000000000000000", "beyond the end of the log")],
)  # fmt: skip
async def test_a_bad_minimum_position_is_refused_naming_the_header(
    replicated: Replicated, value: str, reason: str
) -> None:
    response = await replicated.post(
        VIEWS, {"id": replicated.video}, replicated.creator, {MIN_POSITION: value}
    )
    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert message.startswith("Analytics-Graph-Min-Position: ")
    assert reason in message


async def _exported_views(
    served: Replicated, headers: dict[str, str] | None = None
) -> tuple[int, httpx.Headers]:
    """The video's views in its CSV export (the ``views`` row of the totals)."""
    sent = {"authorization": f"Bearer {served.creator}", **(headers or {})}
    response = await served.http.get(f"/export/videos/{served.video}.csv", headers=sent)
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    [views] = [row[2] for row in rows if row[0] == "views"]
    return int(views), response.headers


async def test_exports_read_a_replica_that_includes_the_position_a_write_returned(
    replicated: Replicated,
) -> None:
    position = await replicated.record_views(4)
    views, headers = await _exported_views(replicated, {MIN_POSITION: str(position)})
    assert views == await replicated.views_in_log()
    assert headers[READ].startswith("replica-")


async def test_exports_pass_over_lagging_replicas_and_survive_their_absence(
    replicated: Replicated,
) -> None:
    await replicated.settle()
    for index in (0, 1):
        await replicated.cluster.pause_replay(index)
    try:
        position = await replicated.record_views(2)
        views, headers = await _exported_views(replicated, {MIN_POSITION: str(position)})
        assert views == await replicated.views_in_log()
        assert headers[READ] == "primary"
    finally:
        for index in (0, 1):
            await replicated.cluster.resume_replay(index)
    for index in (0, 1):
        await asyncio.to_thread(replicated.cluster.stop_standby, index)
    try:
        views, headers = await _exported_views(replicated)
        assert views == await replicated.views_in_log()
        assert headers[READ] == "primary"
    finally:
        for index in (0, 1):
            await asyncio.to_thread(replicated.cluster.start_standby, index)


async def test_an_export_refuses_a_position_beyond_the_log_in_the_graphql_error_shape(
    replicated: Replicated,
) -> None:
    sent = {"authorization": f"Bearer {replicated.creator}", MIN_POSITION: "9000000000000000000"}
    response = await replicated.http.get(f"/export/videos/{replicated.video}.csv", headers=sent)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"].startswith("Analytics-Graph-Min-Position: ")
    assert "beyond the end of the log" in error["message"]
