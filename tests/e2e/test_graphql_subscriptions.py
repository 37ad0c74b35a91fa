"""Subscriptions over graphql-transport-ws, with a real websocket client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics_graph.auth import Role
from analytics_graph.simulation import SimulationConfig
from tests.e2e.graphql_support import Served, next_message, serve, subscribed, token

END = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
CONFIG = SimulationConfig(
    seed=3, accounts=3, pro_ratio=1.0, events=2_000, users=300, weeks=2, end=END
)
NOWHERE = "00000000-0000-4000-8000-000000000000"
INGEST = token(Role.INGEST)
RECORD = """mutation E($events: [EngagementEventInput!]!) { recordEngagement(events: $events) {
  __typename ... on IngestResult { accepted } } }"""
ACCOUNT_METRICS = """subscription S($id: ID!) { accountMetrics(accountId: $id) {
  accountId position account { followerCount
    analytics(range: {preset: LAST_7_DAYS}) { overview { profileViews { total } } } } } }"""
VIDEO_METRICS = """subscription S($id: ID!) { videoMetrics(videoId: $id) {
  videoId position video { analytics { views } } } }"""
EVENT_LOG = """subscription L($after: Position, $types: [String!]) {
  eventLog(after: $after, types: $types) {
  position type streamId data } }"""


@pytest.fixture(scope="module")
async def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("subscriptions"), CONFIG) as served:
        yield served


def _accounts(world: Served) -> list[str]:
    assert world.world is not None
    return [str(a.id) for a in world.world.accounts]


def _video(world: Served, account_id: str) -> str:
    assert world.world is not None
    return next(
        str(v.id)
        for v in world.world.videos
        if str(v.account_id) == account_id and not v.deleted_at
    )


def _profile_view(account_id: str) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    return {
        "profileView": {
            "eventId": str(uuid.uuid4()),
            "occurredAt": at,
            "accountId": account_id,
            "viewerId": "w",
        }
    }


def _view(video_id: str) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    return {"view": {"eventId": str(uuid.uuid4()), "occurredAt": at, "videoId": video_id,
                     "viewerId": "w", "watchedSeconds": 1.0, "source": "OTHER"}}  # fmt: skip


async def _record(world: Served, events: list[dict[str, Any]]) -> None:
    result = await world.data(RECORD, {"events": events}, token=INGEST)
    assert result["recordEngagement"]["accepted"] == len(events)


async def test_account_metrics_arrive_after_each_update_touching_the_account(world: Served) -> None:
    mine = _accounts(world)[0]
    creator = token(Role.CREATOR, mine)
    query = """query A($id: ID!) { account(id: $id) {
      analytics(range: {preset: LAST_7_DAYS}) { overview { profileViews { total } } } } }"""
    before = (await world.data(query, {"id": mine}, token=creator))["account"]["analytics"]
    async with subscribed(world, ACCOUNT_METRICS, {"id": mine}, token=creator) as ws:
        await asyncio.sleep(0.3)  # the subscription listens before the events are recorded
        await _record(world, [_profile_view(mine), _profile_view(mine)])
        message = await next_message(ws)
    assert message["type"] == "next", message
    update = message["payload"]["data"]["accountMetrics"]
    assert update["accountId"] == mine
    assert update["position"] > 0
    total = update["account"]["analytics"]["overview"]["profileViews"]["total"]
    assert total == before["overview"]["profileViews"]["total"] + 2


async def test_video_metrics_follow_the_video(world: Served) -> None:
    account = _accounts(world)[1]
    video = _video(world, account)
    admin = token(Role.ADMIN)
    before = await world.data(
        "query V($id: ID!) { video(id: $id) { analytics { views } } }", {"id": video}, token=admin
    )
    views = before["video"]["analytics"]["views"]
    async with subscribed(world, VIDEO_METRICS, {"id": video}, token=admin) as ws:
        await asyncio.sleep(0.3)
        await _record(world, [_view(video)])
        # The view's first notice may come from `video_reach`, before `engagement` (which
        # counts views) has applied it: that update still shows the count before, and
        # engagement's notice brings the next one.
        while True:
            update = (await next_message(ws))["payload"]["data"]["videoMetrics"]
            assert update["videoId"] == video
            if update["video"]["analytics"]["views"] != views:
                break
    assert update["video"]["analytics"]["views"] == views + 1


async def test_event_log_catches_up_then_follows_live(world: Served) -> None:
    auditor = token(Role.AUDITOR)
    last = await world.store.last_position()
    async with subscribed(world, EVENT_LOG, {"after": last - 3}, token=auditor) as ws:
        caught_up = [await next_message(ws) for _ in range(3)]
        account = _accounts(world)[2]
        await _record(world, [_profile_view(account)])
        live = await next_message(ws)
    positions = [m["payload"]["data"]["eventLog"]["position"] for m in caught_up]
    assert positions == [last - 2, last - 1, last]
    event = live["payload"]["data"]["eventLog"]
    assert event["position"] > last
    assert event["type"] == "profileView"
    assert event["streamId"] == account
    assert event["data"]["accountId"] == account


async def test_event_log_filters_by_type(world: Served) -> None:
    auditor = token(Role.AUDITOR)
    async with subscribed(world, EVENT_LOG, {"types": ["follow"]}, token=auditor) as ws:
        first = await next_message(ws)
    assert first["payload"]["data"]["eventLog"]["type"] == "follow"


async def test_subscribing_to_another_creators_account_answers_like_a_missing_one(
    world: Served,
) -> None:
    mine, theirs = _accounts(world)[:2]
    creator = token(Role.CREATOR, mine)
    answers = []
    for account in (theirs, NOWHERE):
        async with subscribed(world, ACCOUNT_METRICS, {"id": account}, token=creator) as ws:
            answers.append(await next_message(ws))
    hidden, missing = answers
    assert hidden["type"] == missing["type"]
    assert str(hidden).replace(theirs, NOWHERE) == str(missing)
    payload = hidden["payload"]
    errors = payload if isinstance(payload, list) else payload["errors"]
    assert errors[0]["message"] == f"{theirs} was not found"


async def test_creators_may_not_follow_the_log(world: Served) -> None:
    creator = token(Role.CREATOR, _accounts(world)[0])
    async with subscribed(world, EVENT_LOG, {}, token=creator) as ws:
        message = await next_message(ws)
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
