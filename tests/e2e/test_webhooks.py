"""Webhooks end to end: the real app under uvicorn, a real receiver on loopback that
fails, hangs and recovers, signatures checked with the ``standardwebhooks`` library,
and every ``metrics.changed`` body checked against numbers computed from the events."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.datastructures import Secret

from analytics_graph.auth import Role
from analytics_graph.config import Settings
from analytics_graph.simulation import SimulationConfig, generate_world, load_world
from tests.conftest import scratch_database
from tests.e2e.conftest import serving
from tests.e2e.graphql_expected import Expected
from tests.e2e.graphql_support import SECRET, Served, _writer, token
from tests.e2e.webhook_receiver import receiving

END = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
CONFIG = SimulationConfig(
    seed=5, accounts=3, pro_ratio=1.0, events=2_000, users=300, weeks=2, end=END
)
INGEST = token(Role.INGEST)
ADMIN = token(Role.ADMIN)
RECORD = """mutation E($events: [EngagementEventInput!]!) { recordEngagement(events: $events) {
  __typename ... on IngestResult { accepted } } }"""
CREATE = """mutation C($input: CreateWebhookInput!) { createWebhook(input: $input) {
  __typename
  ... on WebhookCreated { secret webhook { id url topics accountId enabled disabledReason } }
  ... on InvalidInput { field message } ... on NotFound { id } } }"""
DELIVERIES = """query D($id: ID!, $first: Int, $after: String) {
  webhookDeliveries(webhookId: $id, first: $first, after: $after) {
    deliveries { id messageId topic status attempts responseCode lastError nextAttemptAt
                 payload position }
    endCursor hasNextPage } }"""
WEBHOOKS = """query W($account: ID) { webhooks(accountId: $account) {
  id enabled disabledReason topics } }"""
METRICS = ("videoViews", "profileViews", "likes", "comments", "shares", "netFollowers")


@contextlib.asynccontextmanager
async def webhook_world(
    server_url: str, data_dir: Path, config: SimulationConfig = CONFIG, **overrides: Any
) -> AsyncIterator[tuple[Served, Expected]]:
    """A served world whose webhooks may call loopback, with quick retries."""
    async with scratch_database(server_url) as url:
        settings = Settings(
            database_url=url,
            data_dir=data_dir,
            secret=Secret(SECRET),
            webhooks_allow_private=True,
            webhook_timeout_seconds=0.5,
            webhook_metrics_interval_seconds=0.0,
            webhook_retry_base_seconds=0.05,
            webhook_retry_cap_seconds=0.3,
        )
        settings = replace(settings, **overrides)
        async with serving(settings) as base_url, _writer(url) as store:
            served = Served(base_url, url, store)
            served.world = generate_world(config)
            await load_world(served.world, store)
            expected = Expected(served.world)
            await served.caught_up()
            try:
                yield served, expected
            finally:
                await served.http.aclose()


def _accounts(served: Served) -> list[str]:
    assert served.world is not None
    return [str(a.id) for a in served.world.accounts]


def _video_of(served: Served, account: str) -> str:
    assert served.world is not None
    return next(
        str(v.id) for v in served.world.videos if str(v.account_id) == account and not v.deleted_at
    )


def _events(served: Served, account: str, n: int, follower: str = "f") -> list[dict[str, Any]]:
    """``n`` rounds of a profile view, a view, a like and a follow/unfollow, ingest format."""
    at = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    video = _video_of(served, account)
    events: list[dict[str, Any]] = []
    for i in range(n):
        base = {"occurredAt": at}
        events += [
            {**base, "type": "profileView", "accountId": account, "viewerId": f"v{i}"},
            {**base, "type": "view", "videoId": video, "viewerId": f"v{i}",
             "watchedSeconds": 1.0, "source": "OTHER"},
            {**base, "type": "like", "videoId": video, "userId": f"v{i}"},
            {**base, "type": "follow" if i % 3 else "unfollow", "accountId": account,
             "followerId": f"{follower}{i % 2}"},
        ]  # fmt: skip
    return [{**e, "eventId": str(uuid.uuid4())} for e in events]


async def _record(served: Served, expected: Expected, events: list[dict[str, Any]]) -> None:
    batch = [{e["type"]: {k: v for k, v in e.items() if k != "type"}} for e in events]
    result = await served.data(RECORD, {"events": batch}, token=INGEST)
    assert result["recordEngagement"]["accepted"] == len(events)
    for event in events:
        expected._apply(event)


async def _create(served: Served, account: str, url: str, topics: list[str]) -> dict[str, Any]:
    creator = token(Role.CREATOR, account)
    variables = {"input": {"url": url, "topics": topics, "accountId": account}}
    data = await served.data(CREATE, variables, token=creator)
    created: dict[str, Any] = data["createWebhook"]
    return created


def _check_totals(expected: Expected, body: dict[str, Any], account: str) -> None:
    """The body's 28-day totals equal those computed from the events, for its day."""
    day = datetime.fromisoformat(body["timestamp"]).date()
    overview = expected.overview(account, day - timedelta(days=27), day)
    want = {name: overview[name]["total"] for name in METRICS}
    assert body["data"]["last28Days"] == want
    assert body["data"]["accountId"] == account


async def _deliveries(served: Served, webhook: str, account: str) -> list[dict[str, Any]]:
    data = await served.data(
        DELIVERIES, {"id": webhook, "first": 100}, token=token(Role.CREATOR, account)
    )
    page: list[dict[str, Any]] = data["webhookDeliveries"]["deliveries"]
    return page


async def _settled(served: Served, webhook: str, account: str) -> list[dict[str, Any]]:
    """The deliveries, once none is pending any more."""
    page: list[dict[str, Any]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            while True:
                page = await _deliveries(served, webhook, account)
                if page and all(d["status"] != "PENDING" for d in page):
                    return page
                await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries still pending: {page}")


async def test_metrics_changed_is_signed_and_carries_the_28_day_totals(
    server_url: str, tmp_path: Path
) -> None:
    async with webhook_world(server_url, tmp_path) as (served, expected), receiving() as rx:
        mine, other = _accounts(served)[:2]
        created = await _create(served, mine, rx.url, ["METRICS_CHANGED"])
        assert created["__typename"] == "WebhookCreated"
        secret, webhook = created["secret"], created["webhook"]
        assert secret.startswith("whsec_")
        assert webhook == {
            "id": webhook["id"], "url": rx.url, "topics": ["METRICS_CHANGED"],
            "accountId": mine, "enabled": True, "disabledReason": None,
        }  # fmt: skip
        await _record(served, expected, _events(served, other, 3))  # not ours: nothing
        await _record(served, expected, _events(served, mine, 5))
        await served.caught_up()
        final = await _settled(served, webhook["id"], mine)
        assert rx.received, "nothing was delivered"
        for item in rx.received:
            body = item.verified(secret)  # raises unless the signature is right
            assert body["type"] == "metrics.changed"
            assert body["data"]["accountId"] == mine
        # The newest delivery carries the totals after every event.
        last = rx.received[-1].verified(secret)
        _check_totals(expected, last, mine)
        assert last["data"]["position"] == await served.store.last_position()
        assert final[0]["status"] == "DELIVERED" and final[0]["responseCode"] == 204
        # The secret is shown once: no field holds it afterwards.
        listed = await served.post(WEBHOOKS, {"account": mine}, token=token(Role.CREATOR, mine))
        assert secret not in listed.text


async def test_failures_and_timeouts_are_retried_in_order_until_the_receiver_recovers(
    server_url: str, tmp_path: Path
) -> None:
    async with webhook_world(server_url, tmp_path) as (served, expected), receiving() as rx:
        mine = _accounts(served)[0]
        created = await _create(served, mine, rx.url, ["METRICS_CHANGED"])
        secret, webhook = created["secret"], created["webhook"]["id"]
        rx.status = 500
        for round_ in range(3):
            await _record(served, expected, _events(served, mine, 2, follower=f"r{round_}"))
            await served.caught_up()
            wanted = 2 * (round_ + 1)
            await rx.wait_for(lambda r, wanted=wanted: len(r.received) >= wanted)
        failing = await _deliveries(served, webhook, mine)
        head = failing[-1]
        assert head["status"] == "PENDING" and head["attempts"] >= 2
        assert head["responseCode"] == 500 and "HTTP 500" in head["lastError"]
        rx.status, rx.hang_seconds = 204, 2.0  # now it hangs past the sender's timeout
        await rx.wait_for(lambda r: r.received and r.received[-1].headers and rx.hang_seconds
                          and len(r.received) >= 7)  # fmt: skip
        hung = await _deliveries(served, webhook, mine)
        assert any("timed out" in (d["lastError"] or "") for d in hung), hung
        rx.hang_seconds = 0.0
        final = await _settled(served, webhook, mine)
        assert all(d["status"] == "DELIVERED" for d in final)
        # At least once, in order: first arrivals of the message ids follow the deliveries.
        order = list(dict.fromkeys(r.message_id for r in rx.received))
        assert order == [d["messageId"] for d in reversed(final)]
        positions = [rx.unique()[m].verified(secret)["data"]["position"] for m in order]
        assert positions == sorted(positions)
        _check_totals(expected, rx.unique()[order[-1]].verified(secret), mine)


async def test_an_endpoint_failing_for_the_window_is_disabled_and_redeliver_revives_it(
    server_url: str, tmp_path: Path
) -> None:
    async with (
        webhook_world(server_url, tmp_path, webhook_failure_window_seconds=1.0) as (
            served,
            expected,
        ),
        receiving() as rx,
    ):
        mine = _accounts(served)[0]
        created = await _create(served, mine, rx.url, ["METRICS_CHANGED"])
        secret, webhook = created["secret"], created["webhook"]["id"]
        creator = token(Role.CREATOR, mine)
        rx.status = 503
        await _record(served, expected, _events(served, mine, 2))
        async with asyncio.timeout(30):
            while True:
                listed = (await served.data(WEBHOOKS, {"account": mine}, token=creator))["webhooks"]
                if not listed[0]["enabled"]:
                    break
                await asyncio.sleep(0.05)
        reason = listed[0]["disabledReason"]
        assert "no successful delivery since" in reason and "HTTP 503" in reason
        failed = await _deliveries(served, webhook, mine)
        assert failed[0]["status"] == "FAILED" and failed[0]["nextAttemptAt"] is None
        count = len(rx.received)
        await _record(served, expected, _events(served, mine, 1, follower="x"))
        await served.caught_up()
        await asyncio.sleep(0.3)
        assert len(rx.received) == count  # disabled: nothing is made or sent
        rx.status = 200
        redeliver = """mutation R($id: ID!) { redeliver(deliveryId: $id) {
          __typename ... on WebhookDelivery { status } } }"""
        again = await served.data(redeliver, {"id": failed[0]["id"]}, token=creator)
        assert again["redeliver"] == {"__typename": "WebhookDelivery", "status": "PENDING"}
        await rx.wait_for(lambda r: r.received[-1].message_id == failed[0]["messageId"]
                          and len(r.received) > count)  # fmt: skip
        rx.received[-1].verified(secret)
        listed = (await served.data(WEBHOOKS, {"account": mine}, token=creator))["webhooks"]
        assert listed[0]["enabled"] and listed[0]["disabledReason"] is None
        # Another creator sees neither the webhook nor its deliveries.
        stranger = token(Role.CREATOR, _accounts(served)[1])
        other = await served.data(redeliver, {"id": failed[0]["id"]}, token=stranger)
        assert other["redeliver"]["__typename"] == "NotFound"
        seen = await served.data(DELIVERIES, {"id": webhook}, token=stranger)
        assert seen["webhookDeliveries"] is None


async def test_unsafe_urls_are_refused_by_default(server_url: str, tmp_path: Path) -> None:
    async with webhook_world(server_url, tmp_path, webhooks_allow_private=False) as (served, _):
        mine = _accounts(served)[0]
        for url, reason in [
            ("http://example.com/hook", "scheme must be https"),
            ("https://127.0.0.1/hook", "non-public address"),
            ("https://localhost/hook", "non-public address"),
            ("https://10.1.2.3/hook", "non-public address"),
            ("https://169.254.169.254/latest/meta-data", "non-public address"),
            ("https://[::1]/hook", "non-public address"),
            ("https://[::ffff:127.0.0.1]/hook", "non-public address"),
            ("https://user:pw@example.com/hook", "credentials"),
            ("ftp://example.com/", "scheme must be https"),
        ]:
            created = await _create(served, mine, url, ["METRICS_CHANGED"])
            assert created["__typename"] == "InvalidInput", (url, created)
            assert created["field"] == "input.url"
            assert reason in created["message"], (url, created["message"])
        none = await _create(served, mine, "https://example.com/", [])
        assert none == {"__typename": "InvalidInput", "field": "input.topics",
                        "message": "input.topics: name at least one topic"}  # fmt: skip
        # Another creator's account answers like one that does not exist.
        theirs = _accounts(served)[1]
        variables = {"input": {"url": "https://example.com/", "topics": ["ALERT_RAISED"],
                               "accountId": theirs}}  # fmt: skip
        data = await served.data(CREATE, variables, token=token(Role.CREATOR, mine))
        assert data["createWebhook"] == {"__typename": "NotFound", "id": theirs}
        forbidden = await served.post(CREATE, variables, token=token(Role.AUDITOR))
        assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_redirects_are_not_followed(server_url: str, tmp_path: Path) -> None:
    async with webhook_world(server_url, tmp_path) as (served, expected), receiving() as rx:
        mine = _accounts(served)[0]
        webhook = (await _create(served, mine, rx.url, ["METRICS_CHANGED"]))["webhook"]["id"]
        rx.status = 302
        await _record(served, expected, _events(served, mine, 1))
        await rx.wait_for(lambda r: len(r.received) >= 2)
        page = await _deliveries(served, webhook, mine)
        assert page[-1]["responseCode"] == 302
        assert "redirects are not followed" in page[-1]["lastError"]
