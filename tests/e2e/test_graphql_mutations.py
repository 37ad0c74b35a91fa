"""Mutations through the real app: the use cases, their typed failures, and ingest."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics_graph.auth import Role
from tests.e2e.graphql_support import Served, serve, token

REGISTER = """
mutation Register($handle: String!, $name: String!) {
  registerAccount(input: {handle: $handle, displayName: $name}) {
    __typename
    ... on Account { id handle displayName accountType isPro followerCount }
    ... on HandleTaken { message handle }
    ... on InvalidInput { message field }
  }
}"""
TO_PRO = """
mutation ToPro($id: ID!, $type: AccountType!) {
  switchToProAccount(accountId: $id, type: $type) {
    __typename
    ... on Account { id accountType isPro }
    ... on NotFound { message id }
    ... on InvalidInput { message field }
  }
}"""
TO_PERSONAL = """
mutation ToPersonal($id: ID!) {
  switchToPersonalAccount(accountId: $id) {
    __typename
    ... on Account { accountType isPro }
    ... on NotFound { message id }
    ... on NotProAccount { message accountId }
  }
}"""
PUBLISH = """
mutation Publish($input: PublishVideoInput!) {
  publishVideo(input: $input) {
    __typename
    ... on Video { id caption durationSeconds publishedAt deleted account { id } }
    ... on NotFound { message id }
    ... on InvalidInput { message field }
  }
}"""
DELETE = """
mutation Delete($id: ID!) {
  deleteVideo(videoId: $id) {
    __typename
    ... on Video { id deleted }
    ... on NotFound { message id }
    ... on VideoDeleted { message videoId }
  }
}"""
RECORD = """
mutation Record($events: [EngagementEventInput!]!) {
  recordEngagement(events: $events) {
    __typename
    ... on IngestResult { accepted duplicates }
    ... on IngestRejected { message rejected { index field reason } }
  }
}"""
VIEWS = """
query Views($range: DateRangeInput!) {
  me { isPro analytics(range: $range) { overview { videoViews { total daily { date value } } } } }
}"""
ADMIN = token(Role.ADMIN)
INGEST = token(Role.INGEST)


@pytest.fixture(scope="module")
async def app(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("mutations")) as served:
        yield served


async def register(app: Served, handle: str) -> dict[str, Any]:
    data = await app.data(REGISTER, {"handle": handle, "name": handle.title()}, token=ADMIN)
    result: dict[str, Any] = data["registerAccount"]
    return result


async def test_register_account_and_its_typed_failures(app: Served) -> None:
    created = await register(app, "alice")
    assert created["__typename"] == "Account"
    assert created["handle"] == "alice"
    assert created["accountType"] == "PERSONAL"
    assert created["isPro"] is False
    assert created["followerCount"] == 0

    taken = await register(app, "ALICE")
    assert taken == {
        "__typename": "HandleTaken",
        "message": "the handle 'ALICE' is taken",
        "handle": "ALICE",
    }
    invalid = await register(app, "no spaces allowed")
    assert invalid["__typename"] == "InvalidInput"
    assert invalid["field"] == "handle"


async def test_analytics_need_a_pro_account_and_show_history_at_once(app: Served) -> None:
    account = await register(app, "bob")
    creator = token(Role.CREATOR, account["id"])
    published = datetime.now(UTC) - timedelta(days=3)
    video = await app.data(
        PUBLISH,
        {"input": {"accountId": account["id"], "caption": "hi", "durationSeconds": 10.0,
                   "publishedAt": published.isoformat()}},
        token=creator,
    )  # fmt: skip
    video_id = video["publishVideo"]["id"]
    views = [_view(video_id, published + timedelta(hours=i + 1)) for i in range(5)]
    recorded = await app.data(RECORD, {"events": views}, token=INGEST)
    assert recorded["recordEngagement"] == {
        "__typename": "IngestResult",
        "accepted": 5,
        "duplicates": 0,
    }
    await app.caught_up()
    day = {"custom": {"start": published.date().isoformat(), "end": published.date().isoformat()}}

    refused = (await app.post(VIEWS, {"range": day}, token=creator)).json()
    assert refused["data"] == {"me": None}
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "NOT_PRO_ACCOUNT"
    assert "Pro accounts only" in error["message"]

    switched = await app.data(TO_PRO, {"id": account["id"], "type": "CREATOR"}, token=creator)
    assert switched["switchToProAccount"]["isPro"] is True
    shown = await app.data(VIEWS, {"range": day}, token=creator)
    views_before_switch = sum(1 for v in views if _day(v) == published.date().isoformat())
    assert shown["me"]["analytics"]["overview"]["videoViews"]["total"] == views_before_switch

    back = await app.data(TO_PERSONAL, {"id": account["id"]}, token=creator)
    assert back["switchToPersonalAccount"] == {
        "__typename": "Account",
        "accountType": "PERSONAL",
        "isPro": False,
    }
    again = await app.data(TO_PERSONAL, {"id": account["id"]}, token=creator)
    assert again["switchToPersonalAccount"]["__typename"] == "NotProAccount"


async def test_publish_and_delete_a_video(app: Served) -> None:
    account = await register(app, "carol")
    creator = token(Role.CREATOR, account["id"])
    video = await app.data(
        PUBLISH,
        {"input": {"accountId": account["id"], "caption": "first", "durationSeconds": 12.5}},
        token=creator,
    )
    published = video["publishVideo"]
    assert published["__typename"] == "Video"
    assert published["account"] == {"id": account["id"]}
    assert published["durationSeconds"] == 12.5
    assert published["deleted"] is False

    deleted = await app.data(DELETE, {"id": published["id"]}, token=creator)
    assert deleted["deleteVideo"] == {"__typename": "Video", "id": published["id"], "deleted": True}
    twice = await app.data(DELETE, {"id": published["id"]}, token=creator)
    assert twice["deleteVideo"]["__typename"] == "VideoDeleted"
    assert twice["deleteVideo"]["videoId"] == published["id"]

    bad = await app.data(
        PUBLISH,
        {"input": {"accountId": account["id"], "caption": "x", "durationSeconds": -1}},
        token=creator,
    )
    assert bad["publishVideo"]["__typename"] == "InvalidInput"
    assert bad["publishVideo"]["field"] == "durationSeconds"


async def test_record_engagement_is_idempotent_by_event_id(app: Served) -> None:
    account = await register(app, "dave")
    video = await app.data(
        PUBLISH,
        {"input": {"accountId": account["id"], "caption": "v", "durationSeconds": 8.0}},
        token=ADMIN,
    )
    moment = datetime.now(UTC)  # just after the publication
    event = _view(video["publishVideo"]["id"], moment)
    first = await app.data(RECORD, {"events": [event, event]}, token=INGEST)
    assert first["recordEngagement"] == {
        "__typename": "IngestResult",
        "accepted": 1,
        "duplicates": 1,
    }
    second = await app.data(RECORD, {"events": [event]}, token=INGEST)
    assert second["recordEngagement"] == {
        "__typename": "IngestResult",
        "accepted": 0,
        "duplicates": 1,
    }


def _view(video_id: str, at: datetime, watched: float = 4.0) -> dict[str, Any]:
    return {
        "view": {
            "eventId": str(uuid.uuid4()),
            "occurredAt": at.isoformat(),
            "videoId": video_id,
            "viewerId": "viewer-1",
            "watchedSeconds": watched,
            "source": "FOR_YOU",
        }
    }


def _day(event: dict[str, Any]) -> str:
    return str(datetime.fromisoformat(event["view"]["occurredAt"]).date())


async def test_a_video_just_published_shows_zeros_at_once(app: Served) -> None:
    account = await register(app, "erin")
    await app.data(TO_PRO, {"id": account["id"], "type": "BUSINESS"}, token=ADMIN)
    creator = token(Role.CREATOR, account["id"])
    video = await app.data(
        PUBLISH,
        {"input": {"accountId": account["id"], "caption": "new", "durationSeconds": 4.2}},
        token=creator,
    )
    query = """query V($id: ID!) { video(id: $id) { analytics {
      views reachedAudience daily { views } hourly { views } retention { second ratio } } } }"""
    shown = await app.data(query, {"id": video["publishVideo"]["id"]}, token=creator)
    analytics = shown["video"]["analytics"]
    assert analytics["views"] == analytics["reachedAudience"] == 0
    assert analytics["daily"] == [{"views": 0}]
    assert analytics["hourly"] == [{"views": 0}] * 48
    assert analytics["retention"] == [{"second": s, "ratio": 0.0} for s in range(6)]
