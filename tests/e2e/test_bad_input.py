"""Bad input: each gets a clear error naming the problem, and nothing is written.

Every test here checks the log afterwards: it holds exactly what it held before.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics_graph.auth import Role
from tests.e2e.graphql_support import GRAPHQL_RESPONSE, Served, serve, token

MAX_BATCH = 50
ADMIN = token(Role.ADMIN)
INGEST = token(Role.INGEST)
RECORD = """mutation E($events: [EngagementEventInput!]!) { recordEngagement(events: $events) {
  __typename
  ... on IngestResult { accepted duplicates }
  ... on IngestRejected { message rejected { index field reason } } } }"""
SETUP = """mutation S($handle: String!) {
  registerAccount(input: {handle: $handle, displayName: "Bad Input"}) { ... on Account { id } } }"""
PUBLISH = """mutation P($id: ID!, $at: DateTime!) { publishVideo(input: {accountId: $id,
  caption: "c", durationSeconds: 10, publishedAt: $at}) { ... on Video { id } } }"""
PUBLISHED = datetime.now(UTC) - timedelta(days=2)


@pytest.fixture(scope="module")
async def app(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    folder = tmp_path_factory.mktemp("bad-input")
    async with serve(server_url, folder, max_ingest_batch=MAX_BATCH) as served:
        yield served


@pytest.fixture(scope="module")
async def video(app: Served) -> tuple[str, str]:
    """An account (Pro) and its 10-second video, published two days ago."""
    account = await app.data(SETUP, {"handle": "bad_input"}, token=ADMIN)
    account_id = account["registerAccount"]["id"]
    await app.data(
        """mutation T($id: ID!) { switchToProAccount(accountId: $id, type: CREATOR) {
        __typename } }""",
        {"id": account_id},
        token=ADMIN,
    )
    published = await app.data(
        PUBLISH, {"id": account_id, "at": PUBLISHED.isoformat()}, token=ADMIN
    )
    return account_id, published["publishVideo"]["id"]


def view(video_id: str, **changes: Any) -> dict[str, Any]:
    event = {
        "eventId": str(uuid.uuid4()),
        "occurredAt": (PUBLISHED + timedelta(hours=1)).isoformat(),
        "videoId": video_id,
        "viewerId": "v1",
        "watchedSeconds": 3.5,
        "source": "SEARCH",
        "searchTerm": "cats",
    }
    event.update(changes)
    return {"view": event}


async def rejected(app: Served, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Sends a batch that must be refused whole; returns the IngestRejected member."""
    before = await app.log_size()
    data = await app.data(RECORD, {"events": events}, token=INGEST)
    result: dict[str, Any] = data["recordEngagement"]
    assert result["__typename"] == "IngestRejected", result
    assert "nothing" in result["message"]
    assert await app.log_size() == before
    return result


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"videoId": str(uuid.UUID(int=7))}, "videoId", "unknown"),
        ({"occurredAt": (PUBLISHED - timedelta(hours=1)).isoformat()}, "occurredAt", "publi"),
        (
            {"occurredAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
            "occurredAt",
            "ahead",
        ),
        ({"occurredAt": "2025-05-01T12:00:00"}, "occurredAt", "offset"),
        ({"watchedSeconds": -1.0}, "watchedSeconds", ">= 0"),
        ({"watchedSeconds": 101.0}, "watchedSeconds", "10"),
        ({"viewer": {"country": "Narnia"}}, "viewer.country", "ISO 3166"),
    ],
)
async def test_an_invalid_event_is_named_and_nothing_is_written(
    app: Served, video: tuple[str, str], changes: dict[str, Any], field: str, words: str
) -> None:
    _, video_id = video
    events = [view(video_id), view(video_id, **changes), view(video_id)]
    result = await rejected(app, events)
    [only] = result["rejected"]
    assert only["index"] == 1
    assert only["field"] == field
    assert words.lower() in only["reason"].lower(), only["reason"]


async def test_an_oversized_batch_is_refused_whole(app: Served, video: tuple[str, str]) -> None:
    """Refused from the raw variables' list length, before any coercion (a 400 naming
    the variable), and nothing is written."""
    _, video_id = video
    before = await app.log_size()
    events = [view(video_id) for _ in range(MAX_BATCH + 1)]
    response = await app.post(RECORD, {"events": events}, token=INGEST)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"] == (
        f"`variables.events` holds {MAX_BATCH + 1} items; at most {MAX_BATCH} are allowed"
        " in one request"
    )
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert await app.log_size() == before


async def test_a_deleted_video_takes_no_engagement(app: Served, video: tuple[str, str]) -> None:
    account_id, _ = video
    other = await app.data(PUBLISH, {"id": account_id, "at": PUBLISHED.isoformat()}, token=ADMIN)
    other_id = other["publishVideo"]["id"]
    await app.data(
        "mutation D($id: ID!) { deleteVideo(videoId: $id) { __typename } }",
        {"id": other_id},
        token=ADMIN,
    )
    late = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    result = await rejected(app, [view(other_id, occurredAt=late)])
    assert "deleted" in result["rejected"][0]["reason"]


@pytest.mark.parametrize(
    ("events", "words"),
    [
        ([{"view": {"eventId": "not-a-uuid"}}], "eventId"),
        ([{"like": None, "view": None}], "exactly one"),
        ([{}], "exactly one"),
        ([{"poke": {}}], "poke"),
    ],
)
async def test_malformed_events_are_request_errors(
    app: Served, events: list[dict[str, Any]], words: str
) -> None:
    before = await app.log_size()
    response = await app.post(RECORD, {"events": events}, token=INGEST)
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert any(words in e["message"] for e in body["errors"]), body
    assert await app.log_size() == before


@pytest.mark.parametrize(
    ("content", "content_type", "status", "words"),
    [
        (b'{"query": "{ me { id } }"', "application/json", 400, "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "JSON object"),
        (b'{"variables": {}}', "application/json", 400, "no `query`"),
        (b'{"query": "{ me { id } }", "variables": [1]}', "application/json", 400, "variables"),
        (b"query { me { id } }", "text/plain", 415, "application/json"),
    ],
)
async def test_malformed_requests(
    app: Served, content: bytes, content_type: str, status: int, words: str
) -> None:
    before = await app.log_size()
    response = await app.http.post(
        "/graphql",
        content=content,
        headers={"content-type": content_type, "authorization": f"Bearer {ADMIN}"},
    )
    assert response.status_code == status
    [error] = response.json()["errors"]
    assert words in error["message"]
    assert await app.log_size() == before


def _deep(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"videos {{ edges {{ node {{ account {{ {inner} }} }} }} }}"
    return f"{{ me {{ {inner} }} }}"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (_deep(4), "fields deep; at most 12"),
        ("{ " + " ".join(f"a{i}: me {{ id }}" for i in range(40)) + " }", "aliases; at most 30"),
        ("{ me { " + " ".join(["id handle displayName"] * 250) + " } }", "fields; at most 600"),
        ("{ me { " + "id " * 5000 + "} }", "more than 4000 tokens"),
        ("{ me { id ", "Syntax Error"),
        ("{ me { idd } }", "Cannot query field 'idd'"),
    ],
)
async def test_too_deep_wide_or_long_queries_are_refused(
    app: Served, query: str, words: str
) -> None:
    response = await app.post(query, token=ADMIN)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    assert any(words in e["message"] for e in body["errors"]), body


@pytest.mark.parametrize(
    ("range_", "words"),
    [
        ({"custom": {"start": "2025-05-10", "end": "2025-05-01"}}, "must be on or before end"),
        ({"custom": {"start": "2020-01-01", "end": "2025-01-01"}}, "at most 731 days"),
        ({"custom": {"start": "2025-02-30", "end": "2025-03-01"}}, "2025-02-30"),
        ({"preset": "LAST_8_DAYS"}, "LAST_8_DAYS"),
    ],
)
async def test_bad_ranges_are_named(
    app: Served, video: tuple[str, str], range_: dict[str, Any], words: str
) -> None:
    account_id, _ = video
    query = """query A($id: ID!, $range: DateRangeInput!) {
      account(id: $id) { analytics(range: $range) { range { start } } } }"""
    response = await app.post(query, {"id": account_id, "range": range_}, token=ADMIN)
    messages = [e["message"] for e in response.json()["errors"]]
    assert any(words in m for m in messages), messages


@pytest.mark.parametrize(
    ("arguments", "words"),
    [("first: 101", "first: must be between 0 and 100"), ('after: "zz"', "after")],
)
async def test_page_sizes_are_capped_and_cursors_checked(
    app: Served, video: tuple[str, str], arguments: str, words: str
) -> None:
    account_id, _ = video
    query = f'{{ account(id: "{account_id}") {{ videos({arguments}) {{ edges {{ cursor }} }} }} }}'
    response = await app.post(query, token=ADMIN)
    [error] = response.json()["errors"]
    assert words in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_mutation_over_get_is_405(app: Served) -> None:
    before = await app.log_size()
    response = await app.http.get(
        "/graphql",
        params={
            "query": 'mutation { registerAccount(input: {handle: "g", displayName: "G"}) {'
            " __typename } }"
        },
        headers={"authorization": f"Bearer {ADMIN}", "accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert await app.log_size() == before
