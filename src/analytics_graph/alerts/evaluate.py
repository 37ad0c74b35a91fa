"""Checking the rules (``rules.py``) against the read models, for what a stretch of the
log touched: each rule reads only the videos or accounts that had new events."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from analytics_graph.alerts.events import Alert
from analytics_graph.alerts.rules import AlertRules, Rule, rules_of
from analytics_graph.eventstore.formats import ACCOUNT_ID
from analytics_graph.types import Connection

HISTORY_DAYS = 7
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(slots=True)
class Touched:
    """The videos (with their accounts) viewed, and the accounts unfollowed, in a range."""

    videos: dict[UUID, UUID] = field(default_factory=dict)
    unfollowed: set[UUID] = field(default_factory=set)

    @property
    def accounts(self) -> set[UUID]:
        return set(self.videos.values()) | self.unfollowed


async def touched(conn: Connection, after: int, upto: int) -> Touched:
    """What ``(after, upto]`` of the log touched, as far as the rules care."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT type, stream_id, {ACCOUNT_ID} AS account FROM events
        WHERE position > $1 AND position <= $2 AND type IN ('view', 'unfollow')""",
        after,
        upto,
    )
    found = Touched()
    for row in rows:
        if row["type"] == "view":
            found.videos[UUID(row["stream_id"])] = UUID(row["account"])
        else:
            found.unfollowed.add(UUID(row["account"]))
    return found


def _spike(current: int, history: Sequence[int], factor: float, least: int) -> float | None:
    """The threshold ``current`` met (``None``: no spike)."""
    threshold = max(factor * statistics.median(history), float(least))
    return threshold if current >= threshold else None


async def views_spikes(
    conn: Connection, videos: dict[UUID, UUID], rules: dict[UUID, AlertRules], now: datetime
) -> list[Alert]:
    """``VIEWS_SPIKE`` for the hour in progress and the last full hour."""
    chosen = [v for v, a in videos.items() if rules[a].views_spike_enabled]
    if not chosen:
        return []
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    rows = await conn.fetch(
        """
        SELECT t.video_id, w.start, d.n, coalesce(vh.views, 0) AS views
        FROM unnest($1::uuid[]) t(video_id)
        CROSS JOIN unnest($2::timestamptz[]) w(start)
        CROSS JOIN generate_series(0, $3) d(n)
        LEFT JOIN rm_alerts.video_hours vh
          ON vh.video_id = t.video_id AND vh.hour = w.start - make_interval(days => d.n)
        """,
        chosen,
        [this_hour - HOUR, this_hour],
        HISTORY_DAYS,
    )
    series: dict[tuple[UUID, datetime], list[int]] = defaultdict(lambda: [0] * (HISTORY_DAYS + 1))
    for row in rows:
        series[(row["video_id"], row["start"])][row["n"]] = row["views"]
    alerts = []
    for (video, start), counts in series.items():
        account = videos[video]
        rule = rules[account]
        history = counts[1:]
        met = _spike(counts[0], history, rule.views_spike_factor, rule.views_spike_min_views)
        if met is not None:
            median = float(statistics.median(history))
            alerts.append(
                Alert(Rule.VIEWS_SPIKE, account, video, start, start + HOUR, counts[0], median, met)
            )
    return alerts


def _best(
    rule: Rule,
    account: UUID,
    subject: UUID,
    today: int,
    before: int | None,
    least: int,
    day: datetime,
) -> Alert | None:
    if before is None or today <= before or today < least:
        return None
    threshold = float(max(before + 1, least))
    return Alert(rule, account, subject, day, day + DAY, today, float(before), threshold)


async def best_days(
    conn: Connection, touched: Touched, rules: dict[UUID, AlertRules], now: datetime
) -> list[Alert]:
    """``ACCOUNT_BEST_DAY`` and ``VIDEO_BEST_DAY`` for today (UTC)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    accounts = [a for a in set(touched.videos.values()) if rules[a].best_day_enabled]
    videos = [v for v, a in touched.videos.items() if rules[a].best_day_enabled]
    alerts: list[Alert | None] = []
    for row in await conn.fetch(
        """SELECT account_id, max(video_views) FILTER (WHERE day = $2) AS today,
                  max(video_views) FILTER (WHERE day < $2) AS before
        FROM rm_engagement.account_days WHERE account_id = ANY($1::uuid[]) GROUP BY 1""",
        accounts,
        day.date(),
    ):
        a, least = row["account_id"], rules[row["account_id"]].best_day_min_views
        best = _best(Rule.ACCOUNT_BEST_DAY, a, a, row["today"] or 0, row["before"], least, day)
        alerts.append(best)
    for row in await conn.fetch(
        """SELECT video_id, max(views) FILTER (WHERE day = $2) AS today,
                  max(views) FILTER (WHERE day < $2) AS before
        FROM rm_engagement.video_days WHERE video_id = ANY($1::uuid[]) GROUP BY 1""",
        videos,
        day.date(),
    ):
        v = row["video_id"]
        a = touched.videos[v]
        least = rules[a].best_day_min_views
        alerts.append(
            _best(Rule.VIDEO_BEST_DAY, a, v, row["today"] or 0, row["before"], least, day)
        )
    return [a for a in alerts if a is not None]


async def follower_losses(
    conn: Connection, accounts: set[UUID], rules: dict[UUID, AlertRules], now: datetime
) -> list[Alert]:
    """``FOLLOWER_LOSS_SPIKE`` for today (UTC)."""
    chosen = [a for a in accounts if rules[a].follower_loss_enabled]
    if not chosen:
        return []
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = await conn.fetch(
        """
        SELECT t.account_id, d.n, coalesce(f.lost, 0) AS lost
        FROM unnest($1::uuid[]) t(account_id)
        CROSS JOIN generate_series(0, $3) d(n)
        LEFT JOIN rm_followers.follower_days f
          ON f.account_id = t.account_id AND f.day = $2::date - d.n
        """,
        chosen,
        day.date(),
        HISTORY_DAYS,
    )
    series: dict[UUID, list[int]] = defaultdict(lambda: [0] * (HISTORY_DAYS + 1))
    for row in rows:
        series[row["account_id"]][row["n"]] = row["lost"]
    alerts = []
    for account, counts in series.items():
        rule, history = rules[account], counts[1:]
        met = _spike(counts[0], history, rule.follower_loss_factor, rule.follower_loss_min)
        if met is not None:
            median = float(statistics.median(history))
            loss = Rule.FOLLOWER_LOSS_SPIKE
            alerts.append(Alert(loss, account, account, day, day + DAY, counts[0], median, met))
    return alerts


async def evaluate(conn: Connection, touched: Touched, now: datetime) -> list[Alert]:
    """Every alert the touched videos and accounts meet now."""
    accounts = touched.accounts
    if not accounts:
        return []
    rules = await rules_of(conn, sorted(accounts))
    return [
        *await views_spikes(conn, touched.videos, rules, now),
        *await best_days(conn, touched, rules, now),
        *await follower_losses(conn, touched.unfollowed, rules, now),
    ]
