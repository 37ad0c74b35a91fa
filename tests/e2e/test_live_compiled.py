"""Shared subscriptions answered by compiled operations (``engine/compiled.py``): byte
for byte the payloads of the engine's normal execution, over varied documents
(aliases, fragments, ``__typename``, variables, nested fields, ``@include`` /
``@skip``, fields with arguments), Pro and non-Pro accounts (whose analytics are an
error), read in the same rounds through the real app against PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from analytics_graph.api.live.hub import Group, key_of
from analytics_graph.auth import Caller, Role
from analytics_graph.simulation import SimulationConfig, World
from tests.e2e.test_live_subscriptions import INGEST, RECORD, LiveWorld, live_world

END = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
CONFIG = SimulationConfig(
    seed=33, accounts=4, pro_ratio=0.5, events=1_500, users=200, weeks=2, end=END
)
NORMAL = "\n# answered by the normal execution"
"""Appended to a question's text: another group for the same question (its compiled
operation removed), in the same rounds."""

ALIASES = """subscription S($id: ID!) { m: accountMetrics(accountId: $id) {
  __typename id: accountId position
  account { __typename handle pro: isPro followerCount
    week: analytics(range: {preset: LAST_7_DAYS}) {
      range { start end }
      overview { videoViews { total previousTotal changeRatio daily { date value } } } }
    month: analytics(range: {preset: LAST_28_DAYS}) {
      overview { likes { total } netFollowers { total daily { value } } } } } } }"""
FRAGMENTS = """subscription S($id: ID!, $daily: Boolean!, $noViews: Boolean = false) {
  accountMetrics(accountId: $id) { ...Update } }
fragment Update on AccountMetricsUpdate { position account {
  ... on Account { displayName }
  analytics(range: {preset: LAST_7_DAYS}) { ...Numbers }
  followerCount @skip(if: $daily) } }
fragment Numbers on AccountAnalytics {
  overview { profileViews { total daily @include(if: $daily) { date value } }
    videoViews @skip(if: $noViews) { total } }
  overview { shares { __typename total } } }"""
ARGUMENTS = """subscription S($id: ID!, $range: DateRangeInput!, $first: Int) {
  accountMetrics(accountId: $id) { position account {
    analytics(range: $range) { range { start end } overview { comments { total daily { date } } }
      followers { total gained lost netChange growth { date value } } asOf { position } }
    videos(first: $first) { edges { cursor node { id caption deleted } }
      pageInfo { hasNextPage } } } } }"""
NOT_COMPILED = """subscription S($id: ID!) { accountMetrics(accountId: $id) { position account {
  videos(first: 2) { edges { node { analytics { views } } } } } } }"""
"""A resolver inside a list: the compiler leaves it to the engine."""
VIDEO = """subscription V($id: ID!) { videoMetrics(videoId: $id) { __typename position
  video { id caption account { handle followerCount }
    analytics(range: {preset: LAST_28_DAYS}) { views likes shares } } } }"""


def _questions(world: LiveWorld) -> list[tuple[str, dict[str, Any], Caller]]:
    assert world.served.world is not None
    sim = world.served.world
    assert {a.is_pro for a in sim.accounts} == {True, False}  # errors and answers
    custom = {"custom": {"start": str(END.date() - timedelta(days=9)), "end": str(END.date())}}
    questions: list[tuple[str, dict[str, Any], Caller]] = []
    for account in sim.accounts:
        caller = Caller(Role.CREATOR, account.id)
        id_ = str(account.id)
        questions += [
            (ALIASES, {"id": id_}, caller),
            (FRAGMENTS, {"id": id_, "daily": True}, caller),
            (FRAGMENTS, {"id": id_, "daily": False, "noViews": True}, caller),
            (ARGUMENTS, {"id": id_, "range": {"preset": "LAST_28_DAYS"}, "first": 2}, caller),
            (ARGUMENTS, {"id": id_, "range": custom}, caller),
            (NOT_COMPILED, {"id": id_}, caller),
        ]
        video = next(v for v in sim.videos if v.account_id == account.id and not v.deleted_at)
        questions.append((VIDEO, {"id": str(video.id)}, caller))
    return questions


async def test_compiled_answers_are_the_normal_executions_byte_for_byte(
    server_url: str, tmp_path: Path
) -> None:
    async with live_world(server_url, tmp_path, config=CONFIG) as world:
        hub, received = world.hub, defaultdict[str, list[str]](list)

        async def record(name: str, payload: str) -> None:
            received[name].append(payload)

        questions = _questions(world)
        assert world.served.world is not None
        sim = world.served.world
        with contextlib.ExitStack() as stack:
            names = []
            for i, (query, variables, caller) in enumerate(questions):
                for text in (query, query + NORMAL):
                    name = f"{i}{NORMAL if text.endswith(NORMAL) else ''}"
                    key = key_of(text, variables, None, caller)
                    stack.enter_context(hub.joined(key, caller, partial(record, name)))
                    names.append(name)
            await world.listening(len(names))  # every question opened
            groups = list(hub.groups.values())
            for group in groups:
                if group.key.query.endswith(NORMAL):
                    group.compiled = None
            compiled = [g for g in groups if g.compiled is not None]
            assert {g.key.query for g in compiled} == {ALIASES, FRAGMENTS, ARGUMENTS, VIDEO}
            assert len(compiled) == sum(q[0] != NOT_COMPILED for q in questions)

            engine = hub.schema.engine
            before = engine.compiled_answers
            for index in range(CONFIG.accounts):
                await world.profile_views(world.account(index), 3)
            await _views_of_videos(world, questions)
            await _until(lambda: all(received[n] for n in names))

        # each question of a Pro account was answered at least once by its compiled
        # operation; those of the others are errors, which the engine reports
        pro = {str(a.id) for a in sim.accounts if a.is_pro}
        of_pro = [g for g in compiled if _follows(g, sim, pro)]
        assert engine.compiled_answers - before >= len(of_pro) > 0
        for i in range(len(questions)):
            assert received[str(i)] == received[f"{i}{NORMAL}"], questions[i]
        payloads = [orjson.loads(p) for n in names for p in received[n]]
        assert any("errors" in p for p in payloads)  # the non-Pro accounts' analytics
        assert any("errors" not in p and p["data"] for p in payloads)


def _follows(group: Group, sim: World, accounts: set[str]) -> bool:
    """Whether the group follows one of ``accounts`` or one of their videos."""
    followed = group.variables["id"]
    of_video = {str(v.id): str(v.account_id) for v in sim.videos}
    return of_video.get(followed, followed) in accounts


async def _views_of_videos(
    world: LiveWorld, questions: list[tuple[str, dict[str, Any], Caller]]
) -> None:
    """A view of each video a question follows (its ``videoMetrics`` changes)."""
    at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    views = [
        {"view": {"eventId": str(uuid.uuid4()), "occurredAt": at, "videoId": variables["id"],
                  "viewerId": "w", "watchedSeconds": 1.0, "source": "FOR_YOU"}}
        for query, variables, _ in questions
        if query == VIDEO
    ]  # fmt: skip
    result = await world.served.data(RECORD, {"events": views}, token=INGEST)
    assert result["recordEngagement"]["accepted"] == len(views)


async def _until(predicate: Any, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - the server's state is polled
            await asyncio.sleep(0.02)
