"""Alerts end to end: crafted engagement makes rules fire; the alerts expected are
computed from the events by the test itself; each is in the log exactly once (also
after the evaluator starts over and the read model is rebuilt), shows in
``AccountAnalytics.alerts``, arrives on the ``alerts`` subscription and as a signed
``alert.raised`` webhook."""

from __future__ import annotations

import asyncio
import statistics
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

import projections
from analytics_graph.auth import Role
from analytics_graph.projection import rebuild
from analytics_graph.simulation import SimulationConfig
from tests.e2e.graphql_expected import Expected
from tests.e2e.graphql_support import Served, next_message, subscribed, token
from tests.e2e.test_webhooks import CREATE, _record, webhook_world
from tests.e2e.webhook_receiver import receiving

NOW = datetime.now(UTC)
# The world ends 9 days ago: nothing of it falls in a window the rules look at now.
CONFIG = SimulationConfig(
    seed=11, accounts=3, pro_ratio=1.0, events=1_500, users=200, weeks=2,
    end=NOW.replace(microsecond=0) - timedelta(days=9),
)  # fmt: skip
SPIKE_VIEWS = 120
HISTORY = [2, 3, 1, 2, 4, 2, 3]  # views in the same hour, 1..7 days before
LOSSES = [1, 0, 2, 1, 0, 1, 1]  # followers lost, 1..7 days before
TODAY_LOSSES = 12
ALERTS = """query A($id: ID!) { account(id: $id) { analytics(range: {preset: LAST_7_DAYS}) {
  alerts { id rule subjectId videoId windowStart windowEnd value baseline threshold } } } }"""
SET_RULES = """mutation S($id: ID!, $rules: AlertRulesInput!) { setAlertRules(accountId: $id,
  rules: $rules) { __typename ... on AlertRules { viewsSpikeEnabled bestDayMinViews
  followerLossMin } ... on InvalidInput { field message } } }"""
SUBSCRIBE = """subscription A($id: ID!) { alerts(accountId: $id) { rule subjectId value } }"""


Found = tuple[str, str, datetime, int]
"""An alert as (rule, subject id, window start, value)."""


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _view(video: str, at: datetime, viewer: str) -> dict[str, Any]:
    return {"type": "view", "videoId": video, "viewerId": viewer, "watchedSeconds": 1.0,
            "source": "FOR_YOU", "occurredAt": at.isoformat(),
            "eventId": str(uuid.uuid4())}  # fmt: skip


def _follow(kind: str, account: str, user: str, at: datetime) -> dict[str, Any]:
    return {"type": kind, "accountId": account, "followerId": user,
            "occurredAt": at.isoformat(), "eventId": str(uuid.uuid4())}  # fmt: skip


def _history(video: str, at: datetime) -> list[dict[str, Any]]:
    """The same clock hour as ``at`` on the 7 days before: ``HISTORY`` views."""
    return [
        _view(video, at - timedelta(days=d + 1), f"h{d}-{i}")
        for d, n in enumerate(HISTORY)
        for i in range(n)
    ]


def _losses(account: str, today: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follows 8 days ago; then ``LOSSES`` unfollows on the days before, and the spike."""
    users = [f"loser{i}" for i in range(sum(LOSSES) + TODAY_LOSSES)]
    start = today - timedelta(days=8)
    follows = [_follow("follow", account, u, start) for u in users]
    unfollows, taken = [], 0
    for d, n in enumerate(LOSSES):
        for u in users[taken : taken + n]:
            unfollows.append(_follow("unfollow", account, u, today - timedelta(days=d + 1)))
        taken += n
    spike = [_follow("unfollow", account, u, today) for u in users[taken:]]
    return follows + unfollows, spike


def _expected_alerts(expected: Expected, account: str, video: str, at: datetime) -> set[Found]:
    """The alerts the default rules raise, computed from every event of the world."""
    found: set[Found] = set()
    hour, day = _hour(at), at.date()
    views = expected.videos[video].views
    per_hour = Counter(_hour(v.at) for v in views)
    history = [per_hour[hour - timedelta(days=d)] for d in range(1, 8)]
    if per_hour[hour] >= max(3 * statistics.median(history), 100):
        found.add(("VIEWS_SPIKE", video, hour, per_hour[hour]))
    per_day = Counter(v.at.date() for v in views)
    earlier = [n for d, n in per_day.items() if d < day]
    if earlier and per_day[day] > max(earlier) and per_day[day] >= 100:
        found.add(("VIDEO_BEST_DAY", video, _midnight(day), per_day[day]))
    account_days = expected.accounts[account].views
    earlier = [n for d, n in account_days.items() if d < day and n]
    if earlier and account_days[day] > max(earlier) and account_days[day] >= 100:
        found.add(("ACCOUNT_BEST_DAY", account, _midnight(day), account_days[day]))
    return found


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _as_tuples(alerts: list[dict[str, Any]]) -> set[Found]:
    return {
        (a["rule"], a["subjectId"], datetime.fromisoformat(a["windowStart"]), a["value"])
        for a in alerts
    }


async def _alerts_of(served: Served, account: str) -> list[dict[str, Any]]:
    data = await served.data(ALERTS, {"id": account}, token=token(Role.CREATOR, account))
    found: list[dict[str, Any]] = data["account"]["analytics"]["alerts"]
    return found


async def _log_alerts(url: str) -> Counter[tuple[str, str, str]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT data FROM events WHERE type = 'AlertRaised'")
    finally:
        await conn.close()
    data = [orjson.loads(r[0]) for r in rows]
    return Counter((d["rule"], d["subjectId"], d["windowStart"]) for d in data)


async def _until(check: Any, within: float = 30.0) -> Any:
    async with asyncio.timeout(within):
        while not (result := await check()):  # noqa: ASYNC110 - the server holds the state
            await asyncio.sleep(0.05)
    return result


async def test_rules_fire_once_per_window_and_reach_every_channel(
    server_url: str, tmp_path: Path
) -> None:
    async with webhook_world(server_url, tmp_path, config=CONFIG) as (served, expected), \
            receiving() as rx:  # fmt: skip
        assert served.world is not None
        a, b, c = (str(x.id) for x in served.world.accounts)
        video_a, video_c = (
            next(str(v.id) for v in served.world.videos
                 if str(v.account_id) == x and not v.deleted_at)
            for x in (a, c)
        )  # fmt: skip
        at = datetime.now(UTC) - timedelta(seconds=20)
        # C opts out of spikes and raises the bar for best days.
        quiet = {"viewsSpikeEnabled": False, "bestDayMinViews": 1000}
        creator_c = token(Role.CREATOR, c)
        result = await served.data(SET_RULES, {"id": c, "rules": quiet}, token=creator_c)
        assert result["setAlertRules"] == {
            "__typename": "AlertRules", "viewsSpikeEnabled": False, "bestDayMinViews": 1000,
            "followerLossMin": 10,
        }  # fmt: skip
        bad = await served.data(SET_RULES, {"id": c, "rules": {"viewsSpikeFactor": 0.5}},
                                token=token(Role.CREATOR, c))  # fmt: skip
        assert bad["setAlertRules"]["field"] == "rules.viewsSpikeFactor"
        created = await served.data(
            CREATE, {"input": {"url": rx.url, "topics": ["ALERT_RAISED"], "accountId": a}},
            token=token(Role.CREATOR, a),
        )  # fmt: skip
        secret = created["createWebhook"]["secret"]
        before, spike_b = _losses(b, at)
        await _record(served, expected, _history(video_a, at) + _history(video_c, at) + before)
        await served.caught_up()
        async with subscribed(served, SUBSCRIBE, {"id": a}, token=token(Role.CREATOR, a)) as ws:
            spike = [_view(video_a, at, f"s{i}") for i in range(SPIKE_VIEWS)]
            spike_c = [_view(video_c, at, f"s{i}") for i in range(SPIKE_VIEWS)]
            await _record(served, expected, spike + spike_c + spike_b)
            want_a = _expected_alerts(expected, a, video_a, at)
            assert {r for r, *_ in want_a} >= {"VIEWS_SPIKE", "VIDEO_BEST_DAY"}
            pushed = [(await next_message(ws))["payload"]["data"]["alerts"] for _ in want_a]
            assert {(p["rule"], p["subjectId"], p["value"]) for p in pushed} == {
                (r, s, v) for r, s, _, v in want_a
            }
        shown = await _until(lambda: _alerts_of_when(served, a, len(want_a)))
        assert _as_tuples(shown) == want_a
        spike_alert = next(x for x in shown if x["rule"] == "VIEWS_SPIKE")
        assert spike_alert["baseline"] == statistics.median(HISTORY)
        assert spike_alert["videoId"] == video_a
        losses = await _until(lambda: _alerts_of_when(served, b, 1))
        day = _midnight(at.date())
        assert _as_tuples(losses) == {("FOLLOWER_LOSS_SPIKE", b, day, TODAY_LOSSES)}
        assert losses[0]["baseline"] == statistics.median(LOSSES)
        assert await _alerts_of(served, c) == []  # its overrides keep it quiet
        # Webhook: each alert of A, signed, with the event's data.
        await rx.wait_for(lambda r: len(r.unique()) >= len(want_a))
        bodies = [r.verified(secret) for r in rx.unique().values()]
        assert {(x["data"]["rule"], x["data"]["subjectId"]) for x in bodies} == {
            (r, s) for r, s, *_ in want_a
        }
        assert all(x["type"] == "alert.raised" for x in bodies)
        # Once per rule, subject and window: more of the same, an evaluator starting
        # over from the beginning, and a rebuilt read model add nothing.
        logged = await _log_alerts(served.database_url)
        assert set(logged.values()) == {1}
        await _record(served, expected, [_view(video_a, at, f"t{i}") for i in range(10)])
        conn = await asyncpg.connect(served.database_url)
        try:
            await conn.execute("UPDATE alert_checkpoint SET position = 0")
            await served.caught_up()
            await _until(lambda: _evaluated(conn, served))
        finally:
            await conn.close()
        await rebuild(served.database_url, served.store, projections.by_name("alerts"))
        assert await _log_alerts(served.database_url) == logged
        assert _as_tuples(await _alerts_of(served, a)) == {
            (r, s, w, v) for r, s, w, v in _as_tuples(shown)
        }


async def _alerts_of_when(served: Served, account: str, count: int) -> list[dict[str, Any]]:
    found = await _alerts_of(served, account)
    return found if len(found) >= count else []


async def _evaluated(conn: asyncpg.Connection, served: Served) -> bool:
    head = await served.store.last_position()
    return bool(await conn.fetchval("SELECT position FROM alert_checkpoint") >= head)
