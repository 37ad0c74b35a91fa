"""Shared metric subscriptions, with real graphql-transport-ws clients: one execution
and one payload per distinct question, coalescing, slow clients, token expiry."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from httpx_ws import WebSocketDisconnect
from starlette.applications import Starlette
from starlette.datastructures import Secret

from analytics_graph.api.live.hub import Hub
from analytics_graph.app import create_app
from analytics_graph.auth import Role, issue_token
from analytics_graph.config import Settings
from analytics_graph.simulation import SimulationConfig, generate_world, load_world
from tests.conftest import scratch_database
from tests.e2e.conftest import free_port
from tests.e2e.graphql_expected import Expected
from tests.e2e.graphql_support import SECRET, Served, _writer, next_message, subscribed, token

END = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
CONFIG = SimulationConfig(
    seed=21, accounts=2, pro_ratio=1.0, events=1_000, users=200, weeks=2, end=END
)
INGEST = token(Role.INGEST)
RECORD = """mutation E($events: [EngagementEventInput!]!) { recordEngagement(events: $events) {
  __typename ... on IngestResult { accepted } } }"""
METRICS = """subscription S($id: ID!) { accountMetrics(accountId: $id) {
  accountId position account { analytics(range: {preset: LAST_7_DAYS}) {
    overview { profileViews { total } } } } } }"""
HEAVY = """subscription S($id: ID!) { accountMetrics(accountId: $id) {
  position account { analytics(range: {preset: LAST_365_DAYS}) { overview {
    videoViews { daily { date value } } profileViews { daily { date value } }
    likes { daily { date value } } comments { daily { date value } }
    shares { daily { date value } } netFollowers { daily { date value } } } } } } }"""


@dataclass
class LiveWorld:
    served: Served
    app: Starlette

    async def listening(self, groups: int) -> None:
        """Waits until ``groups`` questions are open and the hub follows the notices."""
        feed = self.hub.services.feed
        assert feed is not None
        await _until(lambda: self.hub.stats()["following"] == groups and feed.subscribers == 1)

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.graphql.websocket.hub
        return hub

    def account(self, index: int = 0) -> str:
        assert self.served.world is not None
        return str(self.served.world.accounts[index].id)

    async def profile_views(self, account: str, n: int = 1) -> None:
        await self.record(_profile_views(account, n))

    async def record(self, events: list[dict[str, Any]]) -> None:
        """Records profile views (ingest format) in one mutation."""
        wrapped = [{"profileView": {k: v for k, v in e.items() if k != "type"}} for e in events]
        result = await self.served.data(RECORD, {"events": wrapped}, token=INGEST)
        assert result["recordEngagement"]["accepted"] == len(events)


def _profile_views(account: str, n: int) -> list[dict[str, Any]]:
    at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    return [
        {"type": "profileView", "eventId": str(uuid.uuid4()), "occurredAt": at,
         "accountId": account, "viewerId": "w"}
        for _ in range(n)
    ]  # fmt: skip


@contextlib.asynccontextmanager
async def live_world(
    server_url: str, data_dir: Path, *, config: SimulationConfig = CONFIG, **overrides: Any
) -> AsyncIterator[LiveWorld]:
    async with scratch_database(server_url) as url:
        settings = Settings(database_url=url, data_dir=data_dir, secret=Secret(SECRET), **overrides)
        app = create_app(settings)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
            async with _writer(url) as store:
                served = Served(f"http://127.0.0.1:{port}", url, store)
                served.world = generate_world(config)
                await load_world(served.world, store)
                await served.caught_up()
                try:
                    yield LiveWorld(served, app)
                finally:
                    await served.http.aclose()
        finally:
            server.should_exit = True
            await task


async def _total(world: LiveWorld, account: str) -> int:
    query = """query A($id: ID!) { account(id: $id) { analytics(range: {preset: LAST_7_DAYS}) {
      overview { profileViews { total } } } } }"""
    data = await world.served.data(query, {"id": account}, token=token(Role.ADMIN))
    total: int = data["account"]["analytics"]["overview"]["profileViews"]["total"]
    return total


async def _until(predicate: Any, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - the server's state is polled
            await asyncio.sleep(0.02)


def _first_leaf(error: BaseException) -> BaseException:
    """The first error inside nested exception groups (the websocket client's task
    groups wrap a test's failure once per open connection)."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def test_subscribers_asking_the_same_share_one_execution_and_payload(
    server_url: str, tmp_path: Path
) -> None:
    try:
        await _share(server_url, tmp_path)
    except BaseExceptionGroup as group:
        raise _first_leaf(group) from None


async def _share(server_url: str, tmp_path: Path) -> None:
    async with live_world(server_url, tmp_path) as world, contextlib.AsyncExitStack() as stack:
        mine = world.account()
        creator, admin = token(Role.CREATOR, mine), token(Role.ADMIN)
        sockets = []
        for i in range(24):  # 16 as the creator, 8 as an admin: two distinct questions
            caller = creator if i % 3 else admin
            ws = await stack.enter_async_context(
                subscribed(world.served, METRICS, {"id": mine}, token=caller)
            )
            sockets.append(ws)
        await _until(lambda: world.hub.stats()["members"] == 24)
        assert world.hub.stats()["groups"] == 2
        await world.listening(2)
        before = world.hub.published
        await world.profile_views(mine, 3)
        await world.served.caught_up()
        want = await _total(world, mine)
        payloads = []
        for ws in sockets:  # each gets updates until one shows every new view
            while True:
                message = await next_message(ws)
                update = message["payload"]["data"]["accountMetrics"]
                total = update["account"]["analytics"]["overview"]["profileViews"]["total"]
                if total == want:
                    payloads.append(orjson.dumps(message["payload"]))
                    break
        assert len(set(payloads)) == 1  # one payload for all
        executions = world.hub.published - before
        assert 2 <= executions <= 6, executions  # per question and update, not per subscriber


async def test_updates_are_coalesced_and_the_newest_state_arrives(
    server_url: str, tmp_path: Path
) -> None:
    async with live_world(server_url, tmp_path, subscription_interval_seconds=1.0) as world:
        mine = world.account()
        async with subscribed(world.served, METRICS, {"id": mine}, token=token(Role.ADMIN)) as ws:
            await world.listening(1)
            for _ in range(8):
                await world.profile_views(mine)
                await world.served.caught_up()
            want = await _total(world, mine)
            received: list[int] = []
            while not received or received[-1] != want:
                message = await next_message(ws)
                update = message["payload"]["data"]["accountMetrics"]
                received.append(update["account"]["analytics"]["overview"]["profileViews"]["total"])
        assert len(received) < 8, received  # fewer updates than batches
        assert received == sorted(received)


async def test_an_expiring_token_ends_the_subscription_with_the_protocols_error(
    server_url: str, tmp_path: Path
) -> None:
    async with live_world(server_url, tmp_path) as world:
        mine = world.account()
        # Expires (with the verifier's 30 s of leeway) about 2 s from now.
        short = issue_token(SECRET, Role.CREATOR, uuid.UUID(mine), ttl_seconds=1,
                            now=time.time() - 29)  # fmt: skip
        async with subscribed(world.served, METRICS, {"id": mine}, token=short) as ws:
            message = await next_message(ws, within=20)
            assert message["type"] == "error"
            assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_json(timeout=10)
            assert closed.value.code == 4403


SHORT = """subscription S($id: ID!) { accountMetrics(accountId: $id) { accountId account {
  followerCount analytics(range: {preset: LAST_7_DAYS}) { overview {
    profileViews { total } netFollowers { total } } } } } }"""
LONG = """subscription S($id: ID!) { accountMetrics(accountId: $id) { account {
  analytics(range: {preset: LAST_28_DAYS}) { overview {
    profileViews { total daily { date value } } likes { total } } } } } }"""
STATEMENTS_PER_ROUND = 5
"""The reads of a round of SHORT and LONG questions, whatever their number: the
accounts, their follower counts, per range (2) the overviews, and the follower
growth for the range whose ``netFollowers`` is selected (SHORT's)."""


@pytest.mark.parametrize("chunk", [None, 5])
async def test_many_questions_get_their_own_numbers_from_reads_batched_per_round(
    server_url: str, tmp_path: Path, chunk: int | None
) -> None:
    """All 16 questions in one round; or, with rounds of at most 5 questions (the
    hub's ``chunk``), in rounds of 5, 5, 5 and 1, each with its own reads."""
    try:
        await _many_questions(server_url, tmp_path, chunk)
    except BaseExceptionGroup as group:
        raise _first_leaf(group) from None


async def _many_questions(server_url: str, tmp_path: Path, chunk: int | None) -> None:
    config = SimulationConfig(
        seed=22, accounts=4, pro_ratio=1.0, events=2_000, users=300, weeks=2, end=END
    )
    async with (
        live_world(server_url, tmp_path, config=config) as world,
        contextlib.AsyncExitStack() as stack,
    ):
        assert world.served.world is not None
        expected = Expected(world.served.world)
        accounts = [world.account(i) for i in range(4)]
        # 4 accounts x 2 selections x 2 callers (its creator, an admin): 16 questions,
        # each asked by 2 subscribers.
        subscribers = []
        for account in accounts:
            for query in (SHORT, LONG):
                for caller in (token(Role.CREATOR, account), token(Role.ADMIN)):
                    for _ in range(2):
                        ws = await stack.enter_async_context(
                            subscribed(world.served, query, {"id": account}, token=caller)
                        )
                        subscribers.append((account, query, ws))
        await _until(lambda: world.hub.stats()["members"] == 32)
        await world.listening(16)
        if chunk is not None:
            world.hub.chunk = chunk
        rounds_before = len(world.hub.rounds)
        added = [e for i, a in enumerate(accounts) for e in _profile_views(a, i + 1)]
        await world.record(added)
        for event in added:
            expected.add(event)
        await world.served.caught_up()
        today = datetime.now(UTC).date()
        for account, query, ws in subscribers:
            want = _wanted(expected, account, query, today)
            got = await _until_total(ws, want)
            assert got == want, (account, query)
        rounds = list(world.hub.rounds)[rounds_before:]
        if chunk is None:
            assert any(r.questions == 16 for r in rounds), rounds
        else:
            assert all(r.questions <= chunk for r in rounds), rounds
            assert sum(r.questions for r in rounds) >= 16, rounds
        assert all(1 <= r.statements <= STATEMENTS_PER_ROUND for r in rounds), rounds


def _wanted(expected: Expected, account: str, query: str, today: date) -> dict[str, Any]:
    """The update ``query`` should carry, from the events themselves."""
    if query == SHORT:
        week = expected.overview(account, today - timedelta(days=6), today)
        return {"accountId": account, "account": {
            "followerCount": expected.follower_count(account),
            "analytics": {"overview": {
                "profileViews": {"total": week["profileViews"]["total"]},
                "netFollowers": {"total": week["netFollowers"]["total"]}}}}}  # fmt: skip
    month = expected.overview(account, today - timedelta(days=27), today)
    return {"account": {"analytics": {"overview": {
        "profileViews": {"total": month["profileViews"]["total"],
                         "daily": month["profileViews"]["daily"]},
        "likes": {"total": month["likes"]["total"]}}}}}  # fmt: skip


async def _until_total(ws: Any, want: dict[str, Any]) -> dict[str, Any]:
    """The first update whose profile views reach the wanted total (earlier updates
    may show the state before the last batch)."""
    total = want["account"]["analytics"]["overview"]["profileViews"]["total"]
    while True:
        message = await next_message(ws)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        update: dict[str, Any] = message["payload"]["data"]["accountMetrics"]
        if update["account"]["analytics"]["overview"]["profileViews"]["total"] >= total:
            return update


def _raw_subscription(port: int, payload: dict[str, Any]) -> socket.socket:
    """A websocket client that subscribes, then never reads (a tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert b" 101 " in response, response
    for message in payload["messages"]:
        sock.sendall(_frame(orjson.dumps(message)))
    return sock


def _frame(data: bytes) -> bytes:
    """A masked text frame (client to server)."""
    mask = os.urandom(4)
    size = len(data)
    header = bytes([0x81]) + (
        bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + size.to_bytes(2, "big")
    )
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


async def test_a_client_that_cannot_keep_up_is_closed_with_4429(
    server_url: str, tmp_path: Path
) -> None:
    settings: dict[str, Any] = {
        "subscription_interval_seconds": 0.01,
        "subscription_send_timeout_seconds": 0.5,
    }
    async with live_world(server_url, tmp_path, **settings) as world:
        mine = world.account()
        port = int(world.served.base_url.rsplit(":", 1)[1])
        bearer = {"Authorization": f"Bearer {token(Role.ADMIN)}"}
        subscribe = {"query": HEAVY, "variables": {"id": mine}}
        messages = [
            {"type": "connection_init", "payload": bearer},
            {"id": "1", "type": "subscribe", "payload": subscribe},
        ]
        sock = await asyncio.to_thread(_raw_subscription, port, {"messages": messages})
        try:
            await world.listening(1)
            for _ in range(200):
                await world.profile_views(mine)
                if world.hub.stats()["members"] == 0:
                    break
                await asyncio.sleep(0.02)
            await _until(lambda: world.hub.stats()["members"] == 0)
            # Read what was buffered: the last frame is a close frame with 4429.
            sock.setblocking(True)
            sock.settimeout(5)
            data = b""
            with contextlib.suppress(TimeoutError, OSError):
                while chunk := await asyncio.to_thread(sock.recv, 1 << 20):
                    data += chunk
            assert (4429).to_bytes(2, "big") + b"the client cannot keep up" in data
        finally:
            sock.close()
        # Others are unaffected: a fresh subscriber still gets its updates.
        async with subscribed(world.served, METRICS, {"id": mine}, token=token(Role.ADMIN)) as ws:
            await world.listening(1)
            await world.profile_views(mine)
            assert (await next_message(ws))["type"] == "next"


async def test_updates_are_text_frames_written_to_the_socket_or_through_asgi(
    server_url: str, tmp_path: Path
) -> None:
    """Subscribers without a websocket extension get each update as a text frame the
    hub writes itself (``frames.py``), small or over 64 KiB (the 8-byte length);
    one that negotiated ``permessage-deflate`` gets it through the ASGI stack,
    compressed by uvicorn. Every client here decodes the frames itself
    (``websockets``), and the numbers are computed from the events."""
    async with live_world(server_url, tmp_path) as world:
        assert world.served.world is not None
        expected = Expected(world.served.world)
        mine = world.account()
        url = world.served.base_url.replace("http://", "ws://") + "/graphql"
        creator = token(Role.CREATOR, mine)
        async with _client(url, creator, METRICS, mine, compression="deflate") as deflated:
            assert [e.name for e in deflated.protocol.extensions] == ["permessage-deflate"]
            await world.listening(1)
            written = world.hub.written
            await _record_and_expect(world, expected, mine, 2)
            week = await _update_with(deflated, await _total(world, mine))
            assert week == _wanted_week(expected, mine)
            assert world.hub.written == written  # all through the ASGI stack
        async with (
            _client(url, creator, METRICS, mine, compression=None) as plain,
            _client(url, creator, HEAVY, mine, compression=None) as heavy,
        ):
            assert not plain.protocol.extensions and not heavy.protocol.extensions
            await world.listening(2)
            written = world.hub.written
            await _record_and_expect(world, expected, mine, 3)
            total = await _total(world, mine)
            assert await _update_with(plain, total) == _wanted_week(expected, mine)
            today = datetime.now(UTC).date()
            want = expected.overview(mine, today - timedelta(days=364), today)
            in_year = want["profileViews"]["total"]
            year = await _update_with(heavy, in_year, key="daily", size_over=1 << 16)
            assert year == {k: {"daily": v["daily"]} for k, v in want.items()}
            assert world.hub.written >= written + 2  # written straight to both


@contextlib.asynccontextmanager
async def _client(
    url: str, bearer: str, query: str, account: str, *, compression: str | None
) -> AsyncIterator[Any]:
    import websockets

    async with websockets.connect(
        url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        compression=compression, max_size=None,
    ) as ws:  # fmt: skip
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}}
        await ws.send(orjson.dumps(init).decode())
        assert orjson.loads(await ws.recv())["type"] == "connection_ack"
        subscribe = {"query": query, "variables": {"id": account}}
        await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": subscribe}).decode())
        yield ws


async def _record_and_expect(world: LiveWorld, expected: Expected, account: str, n: int) -> None:
    added = _profile_views(account, n)
    await world.record(added)
    for event in added:
        expected.add(event)
    await world.served.caught_up()


def _wanted_week(expected: Expected, account: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    week = expected.overview(account, today - timedelta(days=6), today)
    return {"accountId": account, "account": {"analytics": {"overview": {
        "profileViews": {"total": week["profileViews"]["total"]}}}}}  # fmt: skip


async def _update_with(
    ws: Any, total: int, *, key: str = "total", size_over: int = 0
) -> dict[str, Any]:
    """The first update whose profile views reach ``total`` (METRICS' update, or
    HEAVY's overview when ``key`` is ``daily``); each message a text frame."""
    while True:
        raw = await asyncio.wait_for(ws.recv(), 20)
        assert isinstance(raw, str), raw[:100]  # a text frame
        message = orjson.loads(raw)
        assert message["type"] == "next" and message["id"] == "1", message
        assert "errors" not in message["payload"], message
        update: dict[str, Any] = message["payload"]["data"]["accountMetrics"]
        overview: dict[str, Any] = update["account"]["analytics"]["overview"]
        if key == "total":
            if overview["profileViews"]["total"] >= total:
                return {k: v for k, v in update.items() if k != "position"}
        elif sum(d["value"] for d in overview["profileViews"]["daily"]) >= total:
            assert len(raw.encode()) > size_over
            return overview
