"""Webhooks survive a SIGKILL of the server during deliveries: every delivery arrives
(at least once), in order per endpoint, signed, with the totals computed from the events."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import pytest

from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.records import NewEvent
from analytics_graph.ingest import Ingestor
from analytics_graph.simulation import SimulationConfig, generate_world, load_world
from analytics_graph.webhooks import Topic, UrlPolicy, endpoints
from tests.e2e.graphql_expected import Expected
from tests.e2e.webhook_receiver import Receiver, receiving

END = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
CONFIG = SimulationConfig(seed=8, accounts=3, pro_ratio=1.0, events=1_000, users=200, end=END)
ROUNDS = 24
MAX_ROUNDS = 600
ALERTS_PER_ROUND = 4
METRICS = ("videoViews", "profileViews", "likes", "comments", "shares", "netFollowers")


def _server(url: str) -> Any:
    return asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.webhook_process", url
    )


def _alerts(account: str, first: int) -> list[NewEvent]:
    return [
        NewEvent(
            stream_id=account,
            type="AlertRaised",
            event_id=uuid.uuid4(),
            occurred_at=datetime.now(UTC),
            data={"type": "AlertRaised", "accountId": account, "rule": "TEST", "n": first + i},
        )
        for i in range(ALERTS_PER_ROUND)
    ]


def _engagement(account: str, video: str, round_: int) -> list[dict[str, Any]]:
    at = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    events: list[dict[str, Any]] = [
        {"type": "profileView", "accountId": account, "viewerId": f"p{round_}"},
        {"type": "view", "videoId": video, "viewerId": f"p{round_}", "watchedSeconds": 2.0,
         "source": "FOR_YOU"},
        {"type": "like", "videoId": video, "userId": f"p{round_}"},
        {"type": "follow" if round_ % 4 else "unfollow", "accountId": account,
         "followerId": f"f{round_ % 3}"},
    ]  # fmt: skip
    return [{**e, "eventId": str(uuid.uuid4()), "occurredAt": at} for e in events]


async def _settled(pool: asyncpg.Pool, store: EventStore) -> None:
    head = await store.last_position()
    async with asyncio.timeout(60):
        while True:
            row = await pool.fetchrow(
                "SELECT (SELECT position FROM webhook_checkpoint) AS at,"
                " (SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered') AS open"
            )
            assert row is not None
            if row["at"] >= head and row["open"] == 0:
                return
            await asyncio.sleep(0.05)


def _first_arrivals(rx: Receiver, secrets: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each account's bodies in order of first arrival of their message ids (verified)."""
    seen: set[str] = set()
    bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in rx.received:
        account = orjson.loads(item.body)["data"]["accountId"]
        body = item.verified(secrets[account])
        if item.message_id not in seen:
            seen.add(item.message_id)
            bodies[account].append(body)
    return bodies


@pytest.mark.slow
async def test_sigkill_during_deliveries_loses_none_and_keeps_the_order(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    world = generate_world(CONFIG)
    await load_world(world, store)
    expected = Expected(world)
    accounts = [str(a.id) for a in world.accounts]
    videos = {a: next(str(v.id) for v in world.videos if str(v.account_id) == a
                      and not v.deleted_at) for a in accounts}  # fmt: skip
    ingestor = Ingestor(store)
    async with receiving() as rx:
        rx.delay_seconds = 0.01
        secrets = {}
        for account in accounts:
            _, secrets[account] = await endpoints.create(
                pool,
                UrlPolicy(allow_private=True),
                UUID(account),
                rx.url,
                [Topic.METRICS_CHANGED, Topic.ALERT_RAISED],
            )
        process = await _server(database_url)
        killed, rounds = False, 0
        try:
            # at least ROUNDS rounds, and on until the server was killed mid-deliveries
            # (however long it takes to start and deliver the first 20)
            while rounds < ROUNDS or (not killed and rounds < MAX_ROUNDS):
                round_, rounds = rounds, rounds + 1
                for account in accounts:
                    await store.append_bulk(_alerts(account, round_ * ALERTS_PER_ROUND))
                    events = _engagement(account, videos[account], round_)
                    assert (await ingestor.ingest_events(events)).accepted == len(events)
                    for event in events:
                        expected._apply(event)
                if not killed and len(rx.received) >= 20:
                    process.send_signal(signal.SIGKILL)  # requests are in flight, more queued
                    await process.wait()
                    killed = True
                    process = await _server(database_url)
                await asyncio.sleep(0.05)
            assert killed, "the server was never killed during deliveries"
            await _settled(pool, store)
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        stored = {r[0] for r in await pool.fetch("SELECT message_id FROM webhook_deliveries")}
        assert stored <= {r.message_id for r in rx.received}  # at least once
        bodies = _first_arrivals(rx, secrets)
    today = datetime.now(UTC).date()
    for account in accounts:
        alerts = [b["data"]["n"] for b in bodies[account] if b["type"] == "alert.raised"]
        assert alerts == list(range(rounds * ALERTS_PER_ROUND))  # all, in order, once each
        metrics = [b for b in bodies[account] if b["type"] == "metrics.changed"]
        positions = [b["data"]["position"] for b in metrics]
        assert positions == sorted(positions)
        last = metrics[-1]
        day = datetime.fromisoformat(last["timestamp"]).date()
        assert day == today
        overview = expected.overview(account, day - timedelta(days=27), day)
        assert last["data"]["last28Days"] == {m: overview[m]["total"] for m in METRICS}
