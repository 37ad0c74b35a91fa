"""Three ``analytics-graph serve`` processes on one database, as behind a load balancer.

Each projection is worked on by one process at a time (its session advisory
lock); when that process is killed with SIGKILL, the others take over. So are
the sealer, the webhook dispatcher and sender, and the alert evaluator: a webhook
gets each message once, not once per node. Change notices (``pg_notify``) reach
subscriptions on every node; each node's answer cache follows the read models.
Expected numbers are counts of the events in the log (the events this test sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, aconnect_ws

import projections
from analytics_graph.alerts.evaluator import LOCK as EVALUATOR_LOCK
from analytics_graph.audit.sealer import LOCK_NAME as SEALER_LOCK
from analytics_graph.auth import Role
from analytics_graph.projection.checkpoints import Slot
from analytics_graph.projection.connection import lock_name
from analytics_graph.webhooks.dispatcher import LOCK as DISPATCHER_LOCK
from analytics_graph.webhooks.sender import LOCK as SENDER_LOCK
from tests.conftest import scratch_database
from tests.e2e.conftest import free_port
from tests.e2e.graphql_support import SECRET, token
from tests.e2e.webhook_receiver import receiving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="maps sockets through /proc"),
]

ADMIN, INGEST = token(Role.ADMIN), token(Role.INGEST)
NAMES = [p.name for p in projections.ALL]
VIEWS = "query V($id: ID!) { video(id: $id) { analytics { views } } }"
RECORD = """mutation E($events: [EngagementEventInput!]!) { recordEngagement(events: $events) {
  ... on IngestResult { accepted } } }"""
VIDEO_METRICS = """subscription S($id: ID!) { videoMetrics(videoId: $id) {
  position video { analytics { views } } } }"""
CREATE_WEBHOOK = """mutation C($input: CreateWebhookInput!) { createWebhook(input: $input) {
  ... on WebhookCreated { secret webhook { id } } } }"""
SINGLES = {"sealer": SEALER_LOCK, "webhook dispatcher": DISPATCHER_LOCK,
           "webhook sender": SENDER_LOCK, "alert evaluator": EVALUATOR_LOCK}  # fmt: skip
# Who holds each projection's live lock: the backend's pid and its client's port.
HOLDERS_SQL = """
SELECT n.name, a.client_port
FROM unnest($1::text[], $2::text[]) AS n(name, lock)
JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.database = (
        SELECT oid FROM pg_database WHERE datname = current_database())
    AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(n.lock, 0)
JOIN pg_stat_activity a ON a.pid = l.pid
"""


@dataclass
class Node:
    process: subprocess.Popen[bytes]
    base_url: str
    http: httpx.AsyncClient

    async def data(
        self, query: str, variables: dict[str, Any], bearer: str, headers: dict[str, str] | None
    ) -> tuple[dict[str, Any], httpx.Headers]:
        sent = {"authorization": f"Bearer {bearer}", **(headers or {})}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=sent
        )
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        return body["data"], response.headers


@dataclass
class Nodes:
    url: str
    nodes: list[Node]
    video: str = ""
    creator: str = ""
    account: str = ""

    async def sql(self, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def views_in_log(self) -> int:
        """The oracle: view events of the video in the log."""
        sql = "SELECT count(*) AS n FROM events WHERE type = 'view' AND stream_id = $1"
        return int((await self.sql(sql, self.video))[0]["n"])

    async def record_views(self, node: Node, count: int) -> int:
        at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        events = [
            {"view": {"eventId": str(uuid.uuid4()), "occurredAt": at, "videoId": self.video,
                      "viewerId": f"u{i}", "watchedSeconds": 2.0, "source": "FOR_YOU"}}
            for i in range(count)
        ]  # fmt: skip
        data, headers = await node.data(RECORD, {"events": events}, INGEST, None)
        assert data["recordEngagement"]["accepted"] == count
        return int(headers["analytics-graph-position"])

    async def views(self, node: Node, position: int | None = None) -> int:
        headers = None if position is None else {"Analytics-Graph-Min-Position": str(position)}
        data, _ = await node.data(VIEWS, {"id": self.video}, self.creator, headers)
        return int(data["video"]["analytics"]["views"])

    async def holders(self, names: dict[str, str] | None = None) -> dict[str, int]:
        """Projection name (or the name of another lock of ``names``) -> pid of the
        serve process holding its lock."""
        names = names or {name: lock_name(name, Slot.LIVE) for name in NAMES}
        rows = await self.sql(HOLDERS_SQL, list(names), list(names.values()))
        owners = _socket_owners([n.process.pid for n in self.nodes if n.process.poll() is None])
        return {r["name"]: owners[r["client_port"]] for r in rows if r["client_port"] in owners}


def _socket_owners(pids: list[int]) -> dict[int, int]:
    """Local TCP port -> pid, for the sockets of ``pids`` (read from /proc)."""
    inode_pid = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:["):
                        inode_pid[link[8:-1]] = pid
    owners = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[9] in inode_pid:
                    owners[int(fields[1].rsplit(":", 1)[1], 16)] = inode_pid[fields[9]]
    return owners


def _start(url: str, data_dir: Path, index: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "ANALYTICS_GRAPH_DATABASE_URL": url,
        "ANALYTICS_GRAPH_SECRET": SECRET,
        "ANALYTICS_GRAPH_DATA_DIR": str(data_dir),
        "ANALYTICS_GRAPH_WEBHOOKS_ALLOW_PRIVATE": "true",  # the receiver is on loopback
        "ANALYTICS_GRAPH_WEBHOOK_METRICS_INTERVAL_SECONDS": "0.5",
    }
    log = open(data_dir / f"node{index}.log", "wb")  # noqa: SIM115 - the child writes it
    process = subprocess.Popen(
        [sys.executable, "-m", "analytics_graph", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return process, f"http://127.0.0.1:{port}"


async def _healthy(http: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    async with asyncio.timeout(60):
        while True:
            assert process.poll() is None, "a serve process stopped while starting"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def world_nodes(
    server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Nodes]:
    data_dir = tmp_path_factory.mktemp("nodes")
    async with scratch_database(server_url) as url:
        started = [_start(url, data_dir, i) for i in range(3)]
        nodes = [Node(p, base, httpx.AsyncClient(base_url=base, timeout=60)) for p, base in started]
        try:
            for node in nodes:
                await _healthy(node.http, node.process)
            world = Nodes(url, nodes)
            await _setup(world)
            yield world
        finally:
            for node in nodes:
                await node.http.aclose()
                if node.process.poll() is None:
                    node.process.send_signal(signal.SIGTERM)
            for node in nodes:
                try:
                    node.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()


async def _setup(world: Nodes) -> None:
    first = world.nodes[0]
    register = """mutation { registerAccount(input: {handle: "nodes", displayName: "N"}) {
      ... on Account { id } } }"""
    data, _ = await first.data(register, {}, ADMIN, None)
    account = data["registerAccount"]["id"]
    pro = """mutation P($id: ID!) {
      switchToProAccount(accountId: $id, type: CREATOR) { __typename } }"""
    await world.nodes[1].data(pro, {"id": account}, ADMIN, None)
    publish = """mutation V($id: ID!, $at: DateTime!) { publishVideo(input: {accountId: $id,
      caption: "c", durationSeconds: 10, publishedAt: $at}) { ... on Video { id } } }"""
    at = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    data, headers = await world.nodes[2].data(publish, {"id": account, "at": at}, ADMIN, None)
    world.video, world.creator = data["publishVideo"]["id"], token(Role.CREATOR, account)
    world.account = account
    # read your writes across nodes: the position one node returned, on another
    assert await world.views(first, int(headers["analytics-graph-position"])) == 0


async def _every_projection_held(world: Nodes) -> dict[str, int]:
    async with asyncio.timeout(30):
        while len(held := await world.holders()) < len(NAMES):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    return held


async def test_each_projection_runs_in_one_node_and_caches_follow_writes_on_another(
    world_nodes: Nodes,
) -> None:
    held = await _every_projection_held(world_nodes)
    assert set(held) == set(NAMES)
    assert set(held.values()) <= {n.process.pid for n in world_nodes.nodes}
    for node in world_nodes.nodes:  # warm each node's answer cache
        await world_nodes.views(node)
        await world_nodes.views(node)
    position = await world_nodes.record_views(world_nodes.nodes[1], 5)
    expected = await world_nodes.views_in_log()
    for node in world_nodes.nodes:
        assert await world_nodes.views(node, position) == expected
        assert await world_nodes.views(node) == expected  # the cached answer moved on too


async def test_a_subscription_on_one_node_sees_writes_through_another(world_nodes: Nodes) -> None:
    held = await _every_projection_held(world_nodes)
    # watched where the engagement projection does not run (and as few others as may
    # be: the first node up often takes them all), written through yet another node
    watcher = min(
        (n for n in world_nodes.nodes if n.process.pid != held["engagement"]),
        key=lambda n: sum(pid == n.process.pid for pid in held.values()),
    )
    writer = next(n for n in world_nodes.nodes if n is not watcher)
    url = watcher.base_url.replace("http://", "ws://") + "/graphql"
    protocols = ["graphql-transport-ws"]
    async with aconnect_ws(
        url, watcher.http, subprotocols=protocols, session_class=AsyncWebSocketSession
    ) as ws:
        init = {"Authorization": f"Bearer {world_nodes.creator}"}
        await ws.send_json({"type": "connection_init", "payload": init})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        payload = {"query": VIDEO_METRICS, "variables": {"id": world_nodes.video}}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        await asyncio.sleep(0.3)
        position = await world_nodes.record_views(writer, 2)
        expected = await world_nodes.views_in_log()
        seen: list[tuple[bool, int]] = []
        async with asyncio.timeout(30):
            # Updates come as each projection's batch commits (``position`` is that
            # projection's): the views are right once the engagement model's has come.
            while not seen or seen[-1] != (True, expected):
                message = await ws.receive_json(timeout=30)
                assert message["type"] == "next", message
                update = message["payload"]["data"]["videoMetrics"]
                views = update["video"]["analytics"]["views"]
                assert views <= expected, update  # never more than the log holds
                seen.append((update["position"] >= position, views))


async def test_a_webhook_gets_each_message_once_from_three_nodes(world_nodes: Nodes) -> None:
    async with asyncio.timeout(30):  # each of the four runs somewhere, elected
        while set(held := await world_nodes.holders(SINGLES)) != set(SINGLES):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    assert set(held.values()) <= {n.process.pid for n in world_nodes.nodes}
    async with receiving() as receiver:
        webhook = {"url": receiver.url, "topics": ["METRICS_CHANGED"]}
        webhook["accountId"] = world_nodes.account
        data, _ = await world_nodes.nodes[0].data(CREATE_WEBHOOK, {"input": webhook}, ADMIN, None)
        secret = data["createWebhook"]["secret"]
        for node in world_nodes.nodes:  # written through every node, in turn
            await world_nodes.record_views(node, 3)
            await asyncio.sleep(0.6)  # past the interval: one delivery per write, or so
        expected = await world_nodes.views_in_log()

        def shows_every_view(r: Any) -> bool:
            return any(b["data"]["last28Days"]["videoViews"] == expected for b in r.bodies())

        await receiver.wait_for(shows_every_view, within=60)
        await asyncio.sleep(2)  # a second dispatcher or sender would have sent by now
        ids = [r.message_id for r in receiver.received]
        assert len(ids) == len(set(ids)), "a message arrived twice"
        for item in receiver.received:
            assert item.verified(secret)["type"] == "metrics.changed"
        stored = await world_nodes.sql(
            "SELECT message_id, attempts, status FROM webhook_deliveries ORDER BY delivery_id"
        )
        assert [r["message_id"] for r in stored if r["status"] == "delivered"] == ids
        assert all(r["attempts"] == 1 for r in stored if r["status"] == "delivered")


async def test_projections_move_to_the_other_nodes_when_theirs_is_killed(
    world_nodes: Nodes,
) -> None:
    held = await _every_projection_held(world_nodes)
    leader = max(set(held.values()), key=lambda pid: sum(1 for p in held.values() if p == pid))
    victim = next(n for n in world_nodes.nodes if n.process.pid == leader)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
    survivors = [n for n in world_nodes.nodes if n is not victim]
    async with asyncio.timeout(30):
        while True:
            now = await world_nodes.holders()
            if set(now) == set(NAMES) and leader not in now.values():
                break
            await asyncio.sleep(0.2)
    position = await world_nodes.record_views(survivors[0], 7)
    expected = await world_nodes.views_in_log()
    for node in survivors:  # counted once: nothing lost, nothing applied twice
        assert await world_nodes.views(node, position) == expected
