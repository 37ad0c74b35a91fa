"""GraphQL over HTTP through the real app: methods, media types, status codes, caching,
GraphiQL and the production mode."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from analytics_graph.auth import Role
from analytics_graph.config import Mode
from analytics_graph.simulation import SimulationConfig
from tests.e2e.graphql_support import GRAPHQL_RESPONSE, Served, serve, token

CONFIG = SimulationConfig(seed=9, accounts=3, pro_ratio=1.0, events=1_500, users=300, weeks=2)
ADMIN = token(Role.ADMIN)
COUNTS = """query C($id: ID!) { account(id: $id) { handle
  analytics(range: {custom: {start: "2025-05-18", end: "2025-05-31"}}) {
    overview { profileViews { total } } } } }"""


@pytest.fixture(scope="module")
async def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("http"), CONFIG) as served:
        yield served


@pytest.fixture(scope="module")
async def production(
    server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    folder = tmp_path_factory.mktemp("production")
    async with serve(server_url, folder, mode=Mode.PRODUCTION) as served:
        yield served


def _account(world: Served) -> str:
    assert world.world is not None
    return str(world.world.accounts[0].id)


async def test_get_runs_queries(world: Served) -> None:
    response = await world.http.get(
        "/graphql",
        params={
            "query": "query Q($id: ID!) { account(id: $id) { id } }",
            "variables": f'{{"id": "{_account(world)}"}}',
        },
        headers={"authorization": f"Bearer {ADMIN}", "accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {"data": {"account": {"id": _account(world)}}}


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        ("application/json", "application/json"),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        ("*/*", "application/json"),
    ],
)
async def test_the_response_media_type_follows_accept(
    world: Served, accept: str, media: str
) -> None:
    response = await world.post("{ __typename }", accept=accept, token=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == media


async def test_an_unacceptable_media_type_is_406(world: Served) -> None:
    response = await world.post("{ __typename }", accept="text/csv", token=ADMIN)
    assert response.status_code == 406


async def test_invalid_documents_are_400_only_for_graphql_response_json(world: Served) -> None:
    strict = await world.post("{ nope }", accept=GRAPHQL_RESPONSE, token=ADMIN)
    legacy = await world.post("{ nope }", accept="application/json", token=ADMIN)
    assert strict.status_code == 400
    assert legacy.status_code == 200
    assert strict.json() == legacy.json()
    [error] = strict.json()["errors"]
    assert error["message"] == "Cannot query field 'nope' on type 'Query'."
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_other_methods_are_405(world: Served) -> None:
    response = await world.http.put("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405


async def test_answers_are_cached_until_the_read_models_move(world: Served) -> None:
    variables = {"id": _account(world)}
    first = await world.post(COUNTS, variables, token=ADMIN)
    again = await world.post(COUNTS, variables, token=ADMIN)
    assert first.headers["analytics-graph-cache"] == "miss"
    assert again.headers["analytics-graph-cache"] == "hit"
    assert again.headers["analytics-graph-statements"] == "0"
    assert again.content == first.content

    other_caller = await world.post(COUNTS, variables, token=token(Role.AUDITOR))
    assert other_caller.headers["analytics-graph-cache"] == "miss"

    await _record_profile_view(world)
    await world.caught_up()
    moved = await world.post(COUNTS, variables, token=ADMIN)
    assert moved.headers["analytics-graph-cache"] == "miss"
    assert _profile_views(moved) == _profile_views(first) + 1


async def test_an_answered_query_leaves_nothing_for_the_garbage_collector(
    world: Served,
) -> None:
    """A query's context, loaders and rows go with the request, by reference
    counting: none of it waits in a reference cycle for the collector (which would
    then trace every request's data again and again)."""
    query = COUNTS.replace("handle", "handle displayName")  # not answered from the cache
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        response = await world.post(query, {"id": _account(world)}, token=ADMIN)
        assert response.headers["analytics-graph-cache"] == "miss"
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert _profile_views(response) > 0
    assert not left & {"Context", "Loaders", "PlainDataExecution", "Metric", "DailyValue"}


async def test_the_event_log_is_never_served_from_the_cache(world: Served) -> None:
    """The checkpoints name the read models' state, not the log's head: an event no
    projection has applied yet must still show in the next read of the log."""
    log = "query L($after: Position) { eventLog(after: $after) { events { type } } }"
    after = {"after": await world.store.last_position()}
    first = await world.post(log, after, token=ADMIN)
    again = await world.post(log, after, token=ADMIN)
    assert first.json()["data"]["eventLog"]["events"] == []
    assert [first.headers["analytics-graph-cache"], again.headers["analytics-graph-cache"]] == [
        "miss",
        "miss",
    ]
    await _record_profile_view(world)
    moved = await world.post(log, after, token=ADMIN)
    assert moved.json()["data"]["eventLog"]["events"] == [{"type": "profileView"}]


async def _record_profile_view(world: Served) -> None:
    event = {
        "profileView": {
            "eventId": str(uuid.uuid4()),
            "occurredAt": datetime(2025, 5, 20, 12, tzinfo=UTC).isoformat(),
            "accountId": _account(world),
            "viewerId": "x",
        }
    }
    recorded = await world.data(
        "mutation E($e: [EngagementEventInput!]!) { recordEngagement(events: $e) { __typename } }",
        {"e": [event]},
        token=token(Role.INGEST),
    )
    assert recorded["recordEngagement"]["__typename"] == "IngestResult"


def _profile_views(response: httpx.Response) -> int:
    analytics = response.json()["data"]["account"]["analytics"]
    views: int = analytics["overview"]["profileViews"]["total"]
    return views


async def test_graphiql_is_served_in_development(world: Served) -> None:
    response = await world.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_production_mode_has_no_introspection_suggestions_or_graphiql(
    production: Served,
) -> None:
    introspection = await production.post("{ __schema { types { name } } }", token=ADMIN)
    assert introspection.status_code == 400
    assert "introspection" in introspection.json()["errors"][0]["message"].lower()

    typo = await production.post("{ mee { id } }", token=ADMIN)
    [error] = typo.json()["errors"]
    assert error["message"] == "Cannot query field 'mee' on type 'Query'."

    page = await production.http.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()


async def test_suggestions_help_in_development(world: Served) -> None:
    typo = await world.post("{ mee { id } }", token=ADMIN)
    assert "Did you mean 'me'?" in typo.json()["errors"][0]["message"]


async def test_statements_stay_few_whatever_the_size(world: Served) -> None:
    """The whole dashboard of the account with the most videos costs as many statements
    as that of the account with the fewest."""
    assert world.world is not None
    counts: dict[str, int] = {}
    for video in world.world.videos:
        counts[str(video.account_id)] = counts.get(str(video.account_id), 0) + 1
    small, large = min(counts, key=counts.__getitem__), max(counts, key=counts.__getitem__)
    assert counts[large] > counts[small]
    statements = []
    for account_id in (small, large):
        response = await world.post(DASHBOARD, {"id": account_id}, token=ADMIN)
        assert "errors" not in response.json(), response.json()
        statements.append(int(response.headers["analytics-graph-statements"]))
    assert statements[0] == statements[1]
    # the account, its follower count, its videos, and one statement per section
    assert statements[1] == 6, statements


async def test_viewers_and_as_of_cost_one_statement_each(world: Served) -> None:
    """Selected beside the whole dashboard, the Viewers section and ``asOf`` add one
    statement each, whatever the account's size; a video's ``asOf`` adds one too."""
    assert world.world is not None
    with_both = DASHBOARD.replace(
        "range { start end }",
        "range { start end } viewers { total daily { new } } asOf { position }",
    )
    for account in world.world.accounts[:3]:
        response = await world.post(with_both, {"id": str(account.id)}, token=ADMIN)
        assert "errors" not in response.json(), response.json()
        assert int(response.headers["analytics-graph-statements"]) == 6 + 2
    video = """query V($id: ID!) { video(id: $id) { analytics { views asOf { position } } } }"""
    plain = video.replace(" asOf { position }", "")
    counts = []
    for query in (plain, video):
        response = await world.post(query, {"id": str(world.world.videos[0].id)}, token=ADMIN)
        assert "errors" not in response.json(), response.json()
        counts.append(int(response.headers["analytics-graph-statements"]))
    assert counts[1] == counts[0] + 1


DASHBOARD = """query D($id: ID!) { account(id: $id) { handle followerCount
  videos(first: 50) { edges { node { id caption } } }
  analytics(range: {custom: {start: "2025-05-04", end: "2025-05-31"}}) {
    range { start end }
    overview {
      videoViews { total previousTotal changeRatio daily { date value } }
      profileViews { total previousTotal changeRatio daily { date value } }
      likes { total daily { date value } } comments { total } shares { total }
      netFollowers { total daily { date value } } }
    content {
      postedVideos { video { id caption publishedAt } views likes comments shares viewsGained7d }
      trendingVideos { video { id } views viewsGained7d } }
    followers { total gained lost netChange growth { date value }
      gender { key count ratio } ageRanges { key count ratio } topTerritories { key count ratio }
      activeHours { hour value } activeDays { weekday value } } } } }"""


async def test_positions_are_64_bit_and_accept_digit_strings(world: Served) -> None:
    """``Position`` holds what ``Int`` (32-bit) cannot, as a number or a digit string."""
    log = "query L($after: Position) { eventLog(after: $after, first: 1) { endPosition } }"
    beyond_int = {"after": 2**40}
    assert (await world.post(log, beyond_int, token=ADMIN)).json()["data"] == {
        "eventLog": {"endPosition": None}
    }
    as_text = (await world.post(log, {"after": "0"}, token=ADMIN)).json()["data"]
    assert isinstance(as_text["eventLog"]["endPosition"], int)
    for bad in ("-1", "1e3", 2**53, True):
        body = (await world.post(log, {"after": bad}, token=ADMIN)).json()
        assert body["errors"][0]["message"].startswith("Variable '$after'"), body
