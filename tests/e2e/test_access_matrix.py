"""Who sees and does what: each role against each family of fields and mutations.

What a caller may not see answers exactly like an id that does not exist: same
status, same data, same message (up to the id it names), same error code.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from analytics_graph.auth import Role
from analytics_graph.simulation import SimulationConfig
from tests.e2e.graphql_support import Served, serve, token

CONFIG = SimulationConfig(seed=5, accounts=5, pro_ratio=0.7, events=3_000, users=500, weeks=3)
NOWHERE = "00000000-0000-4000-8000-000000000000"
RANGE = {"custom": {"start": "2025-05-11", "end": "2025-05-31"}}

ME = "{ me { id handle } }"
ACCOUNT = "query A($id: ID!) { account(id: $id) { id handle followerCount } }"
VIDEO = "query V($id: ID!) { video(id: $id) { id caption account { id } } }"
ANALYTICS = """query A($id: ID!, $range: DateRangeInput!) {
  account(id: $id) { analytics(range: $range) { overview { videoViews { total } } } } }"""
VIDEO_ANALYTICS = "query V($id: ID!) { video(id: $id) { analytics { views } } }"
LOG = "{ eventLog(first: 2) { events { position type } hasNextPage } }"
TO_PRO = """mutation P($id: ID!) { switchToProAccount(accountId: $id, type: BUSINESS) {
  __typename ... on NotFound { message id } ... on Account { id } } }"""
PUBLISH = """mutation P($id: ID!) { publishVideo(input: {accountId: $id, caption: "c",
  durationSeconds: 5}) { __typename ... on NotFound { message id } ... on Video { id } } }"""
DELETE = """mutation D($id: ID!) { deleteVideo(videoId: $id) {
  __typename ... on NotFound { message id } ... on Video { id } } }"""
REGISTER = """mutation R($handle: String!) { registerAccount(input: {handle: $handle,
  displayName: "R"}) { __typename ... on Account { id } } }"""
RECORD = """mutation E($events: [EngagementEventInput!]!) { recordEngagement(events: $events) {
  __typename ... on IngestResult { accepted } } }"""


@pytest.fixture(scope="module")
async def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("access"), CONFIG) as served:
        yield served


def _pro_creators(world: Served) -> list[str]:
    assert world.world is not None
    return [str(a.id) for a in world.world.accounts if a.is_pro]


def _personal(world: Served) -> str:
    assert world.world is not None
    return next(str(a.id) for a in world.world.accounts if not a.is_pro)


def _video_of(world: Served, account_id: str) -> str:
    assert world.world is not None
    return next(str(v.id) for v in world.world.videos if str(v.account_id) == account_id)


async def _answer(world: Served, query: str, variables: dict[str, Any], who: str) -> httpx.Response:
    return await world.post(query, variables, token=who)


def _same_answer(hidden: httpx.Response, hidden_id: str, missing: httpx.Response) -> None:
    assert hidden.status_code == missing.status_code
    assert hidden.text.replace(hidden_id, NOWHERE) == missing.text
    assert hidden.headers["content-type"] == missing.headers["content-type"]


def _codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


async def test_a_creator_reads_their_own_account_videos_and_analytics(world: Served) -> None:
    mine = _pro_creators(world)[0]
    creator = token(Role.CREATOR, mine)
    assert (await world.data(ME, token=creator))["me"]["id"] == mine
    assert (await world.data(ACCOUNT, {"id": mine}, token=creator))["account"]["id"] == mine
    video = _video_of(world, mine)
    assert (await world.data(VIDEO, {"id": video}, token=creator))["video"]["account"]["id"] == mine
    analytics = await world.data(ANALYTICS, {"id": mine, "range": RANGE}, token=creator)
    assert analytics["account"]["analytics"]["overview"]["videoViews"]["total"] >= 0
    lifetime = await world.data(VIDEO_ANALYTICS, {"id": video}, token=creator)
    assert lifetime["video"]["analytics"]["views"] >= 0


@pytest.mark.parametrize(
    ("query", "kind"),
    [(ACCOUNT, "account"), (ANALYTICS, "account"), (VIDEO, "video"), (VIDEO_ANALYTICS, "video")],
)
async def test_another_creators_ids_answer_like_ids_that_do_not_exist(
    world: Served, query: str, kind: str
) -> None:
    mine, theirs = _pro_creators(world)[:2]
    creator = token(Role.CREATOR, mine)
    hidden_id = theirs if kind == "account" else _video_of(world, theirs)
    hidden = await _answer(world, query, {"id": hidden_id, "range": RANGE}, creator)
    missing = await _answer(world, query, {"id": NOWHERE, "range": RANGE}, creator)
    assert hidden.json() == {"data": {kind: None}}
    _same_answer(hidden, hidden_id, missing)


@pytest.mark.parametrize(
    ("mutation", "kind"), [(TO_PRO, "account"), (PUBLISH, "account"), (DELETE, "video")]
)
async def test_a_creator_cannot_change_another_account_nor_learn_it_exists(
    world: Served, mutation: str, kind: str
) -> None:
    mine, theirs = _pro_creators(world)[:2]
    creator = token(Role.CREATOR, mine)
    hidden_id = theirs if kind == "account" else _video_of(world, theirs)
    before = await world.log_size()
    hidden = await _answer(world, mutation, {"id": hidden_id}, creator)
    missing = await _answer(world, mutation, {"id": NOWHERE}, creator)
    [result] = hidden.json()["data"].values()
    assert result == {
        "__typename": "NotFound",
        "message": f"{hidden_id} was not found",
        "id": hidden_id,
    }
    _same_answer(hidden, hidden_id, missing)
    assert await world.log_size() == before


async def test_analytics_of_a_personal_account_are_refused_clearly(world: Served) -> None:
    personal = _personal(world)
    response = await world.post(
        ANALYTICS, {"id": personal, "range": RANGE}, token=token(Role.ADMIN)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"account": None}
    assert _codes(response) == ["NOT_PRO_ACCOUNT"]
    assert personal in body["errors"][0]["message"]


async def test_the_ingest_role_records_but_reads_nothing(world: Served) -> None:
    ingest = token(Role.INGEST)
    for query, variables in ((ME, {}), (ACCOUNT, {"id": _personal(world)}), (LOG, {})):
        response = await world.post(query, variables, token=ingest)
        assert _codes(response) == ["FORBIDDEN"], response.text
    assert _codes(await world.post(REGISTER, {"handle": "nope"}, token=ingest)) == ["FORBIDDEN"]
    recorded = await world.data(RECORD, {"events": [_profile_view(_personal(world))]}, token=ingest)
    assert recorded["recordEngagement"] == {"__typename": "IngestResult", "accepted": 1}


async def test_auditors_read_everything_and_change_nothing(world: Served) -> None:
    auditor = token(Role.AUDITOR)
    creators = _pro_creators(world)
    for account_id in creators:
        found = await world.data(ANALYTICS, {"id": account_id, "range": RANGE}, token=auditor)
        assert found["account"] is not None
    log = await world.data(LOG, token=auditor)
    assert len(log["eventLog"]["events"]) == 2
    assert log["eventLog"]["hasNextPage"] is True
    before = await world.log_size()
    for mutation, variables in (
        (TO_PRO, {"id": creators[0]}),
        (REGISTER, {"handle": "auditor_made"}),
        (RECORD, {"events": [_profile_view(creators[0])]}),
    ):
        assert _codes(await world.post(mutation, variables, token=auditor)) == ["FORBIDDEN"]
    assert await world.log_size() == before


async def test_creators_and_ingest_may_not_read_the_event_log(world: Served) -> None:
    creator = token(Role.CREATOR, _pro_creators(world)[0])
    assert _codes(await world.post(LOG, token=creator)) == ["FORBIDDEN"]


async def test_admins_do_everything(world: Served) -> None:
    admin = token(Role.ADMIN)
    registered = await world.data(
        REGISTER, {"handle": f"admin_{uuid.uuid4().hex[:8]}"}, token=admin
    )
    new_id = registered["registerAccount"]["id"]
    switched = await world.data(TO_PRO, {"id": new_id}, token=admin)
    assert switched["switchToProAccount"] == {"__typename": "Account", "id": new_id}
    assert (await world.data(LOG, token=admin))["eventLog"]["events"]
    assert (await world.data(ACCOUNT, {"id": new_id}, token=admin))["account"]["id"] == new_id


async def test_without_a_token_nothing_is_readable(world: Served) -> None:
    response = await world.post(ME)
    assert response.status_code == 200
    assert response.json()["data"] == {"me": None}
    assert _codes(response) == ["UNAUTHENTICATED"]
    assert (await world.post("{ __typename }")).json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "bad",
    ["Bearer not-a-jwt", "Basic abc", "Bearer " + token(Role.ADMIN)[:-4] + "AAAA"],
)
async def test_a_bad_token_gets_401(world: Served, bad: str) -> None:
    response = await world.http.post("/graphql", json={"query": ME}, headers={"authorization": bad})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert _codes(response) == ["UNAUTHENTICATED"]


def _profile_view(account_id: str) -> dict[str, Any]:
    return {
        "profileView": {
            "eventId": str(uuid.uuid4()),
            "occurredAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "accountId": account_id,
            "viewerId": "someone",
        }
    }
