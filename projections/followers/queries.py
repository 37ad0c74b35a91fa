"""Reading followers: growth, demographics, activity, counts (read model of ``followers``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from analytics_graph.projection import live_schema
from analytics_graph.types import Connection
from projections.readmodel import (
    DailyValue,
    DayValue,
    HourValue,
    Metric,
    Share,
    check_range,
    days,
    metric,
    previous_period,
    shares,
)

SCHEMA = live_schema("followers")
DEMOGRAPHICS_THRESHOLD = 100


@dataclass(frozen=True, slots=True)
class FollowerGrowth:
    """Followers over a range: ``total`` at the end of its last day; ``gained`` and
    ``lost`` within it (state changes only: a follow by a follower, or an unfollow
    by a non-follower, changes nothing); ``growth``: the count at the end of each
    day; ``net_followers``: gained minus lost per day, with the previous period."""

    total: int
    gained: int
    lost: int
    growth: list[DailyValue]
    net_followers: Metric

    @property
    def net_change(self) -> int:
        return self.gained - self.lost


GROWTH_SQL = f"""
SELECT NULL::date AS day, coalesce(sum(gained - lost), 0) AS gained, 0::bigint AS lost
FROM {SCHEMA}.follower_days WHERE account_id = $1 AND day < $2
UNION ALL
SELECT day, gained, lost FROM {SCHEMA}.follower_days
WHERE account_id = $1 AND day BETWEEN $2 AND $3
"""


GROWTHS_SQL = f"""
SELECT account_id, NULL::date AS day, sum(gained - lost) AS gained, 0::bigint AS lost
FROM {SCHEMA}.follower_days WHERE account_id = ANY($1::uuid[]) AND day < $2
GROUP BY account_id
UNION ALL
SELECT account_id, day, gained, lost FROM {SCHEMA}.follower_days
WHERE account_id = ANY($1::uuid[]) AND day BETWEEN $2 AND $3
"""
"""``GROWTH_SQL`` for many accounts (the section's statement names one)."""


async def follower_growth(
    conn: Connection, account_id: UUID, start: date, end: date
) -> FollowerGrowth:
    """:class:`FollowerGrowth` over ``start .. end``; one statement."""
    return (await follower_growths(conn, [account_id], start, end))[account_id]


async def follower_growths(
    conn: Connection, account_ids: Sequence[UUID], start: date, end: date
) -> dict[UUID, FollowerGrowth]:
    """:func:`follower_growth` of each of ``account_ids``, in one statement."""
    check_range(start, end)
    previous_start, _ = previous_period(start, end)
    rows = await conn.fetch(GROWTHS_SQL, list(account_ids), previous_start, end)
    per_account: dict[UUID, list[tuple[date | None, int, int]]] = {a: [] for a in account_ids}
    for r in rows:
        per_account[r["account_id"]].append((r["day"], r["gained"], r["lost"]))
    return {a: _growth(found, start, end) for a, found in per_account.items()}


def _growth(rows: Iterable[tuple[date | None, int, int]], start: date, end: date) -> FollowerGrowth:
    """From ``(day, gained, lost)`` over the previous period and the range, and one
    ``(None, net before the previous period, 0)``."""
    previous_start, _ = previous_period(start, end)
    before, gained, lost = 0, {}, {}
    for day, gained_that_day, lost_that_day in rows:
        if day is None:
            before = int(gained_that_day)
        else:
            gained[day], lost[day] = int(gained_that_day), int(lost_that_day)
    running, growth, new = before, [], tuple.__new__  # a named tuple's __new__ minus its frame
    for day in days(previous_start, end):
        running += gained.get(day, 0) - lost.get(day, 0)
        if day >= start:
            growth.append(new(DailyValue, (day, running)))
    in_range = [d for d in gained if d >= start]
    return FollowerGrowth(
        total=running,
        gained=sum(gained[d] for d in in_range),
        lost=sum(lost[d] for d in in_range),
        growth=growth,
        net_followers=metric({d: gained[d] - lost[d] for d in gained}, start, end),
    )


@dataclass(frozen=True, slots=True)
class Demographics:
    """Current followers by gender, age range and territory (country code), from the
    attributes of each one's latest follow; a missing attribute counts as UNKNOWN.
    ``ratio = count / followers``; largest first, ties by key. The lists are empty
    while the account has fewer than 100 followers (too few to describe anyone
    without pointing at them)."""

    followers: int
    gender: list[Share]
    age_ranges: list[Share]
    territories: list[Share]


DEMOGRAPHICS_SQL = f"""
SELECT dimension, key, followers FROM {SCHEMA}.follower_demographics
WHERE account_id = $1 AND followers > 0
"""


async def demographics(conn: Connection, account_id: UUID) -> Demographics:
    """:class:`Demographics` of the account's current followers; one statement."""
    rows = await conn.fetch(DEMOGRAPHICS_SQL, account_id)
    return _demographics((r["dimension"], r["key"], r["followers"]) for r in rows)


def _demographics(rows: Iterable[tuple[str, str, int]]) -> Demographics:
    """From ``(dimension, key, followers)``."""
    by: dict[str, list[tuple[str, int]]] = {"gender": [], "age_range": [], "country": []}
    for dimension, key, followers in rows:
        by[dimension].append((key, int(followers)))
    total = sum(n for _, n in by["gender"])
    if total < DEMOGRAPHICS_THRESHOLD:
        return Demographics(total, [], [], [])
    return Demographics(
        total,
        shares(by["gender"], total),
        shares(by["age_range"], total),
        shares(by["country"], total),
    )


@dataclass(frozen=True, slots=True)
class FollowerActivity:
    """Views of the account's videos in a range by users who were following it when
    they viewed (in log order): per UTC hour of day (24 entries, 0-23) and per
    weekday (7 entries, 1 = Monday). Counts views, not people."""

    hours: list[HourValue]
    days: list[DayValue]


# Totals per hour and per weekday (one of the two is NULL in a row); the ISO weekday
# in integer arithmetic (2000-01-03 was a Monday), cheaper than extract()'s numeric.
WEEKDAY = "(((day - DATE '2000-01-03') % 7 + 7) % 7 + 1)"
ACTIVITY_SQL = f"""
SELECT hour, {WEEKDAY} AS weekday, sum(views)::bigint AS views
FROM {SCHEMA}.follower_activity
WHERE account_id = $1 AND day BETWEEN $2 AND $3
GROUP BY GROUPING SETS ((hour), ({WEEKDAY}))
"""


async def follower_activity(
    conn: Connection, account_id: UUID, start: date, end: date
) -> FollowerActivity:
    """:class:`FollowerActivity` over ``start .. end``; one statement."""
    check_range(start, end)
    rows = await conn.fetch(ACTIVITY_SQL, account_id, start, end)
    return _activity((r["hour"], r["weekday"], r["views"]) for r in rows)


def _activity(rows: Iterable[tuple[int | None, int | None, int]]) -> FollowerActivity:
    """From ``(hour, None, views)`` and ``(None, ISO weekday, views)``."""
    hours, weekdays = [0] * 24, [0] * 7
    for hour, weekday, views in rows:
        if hour is not None:
            hours[hour] += int(views)
        if weekday is not None:
            weekdays[weekday - 1] += int(views)
    return FollowerActivity(
        [HourValue(h, v) for h, v in enumerate(hours)],
        [DayValue(d + 1, v) for d, v in enumerate(weekdays)],
    )


@dataclass(frozen=True, slots=True)
class FollowerSection:
    """Everything the Followers section shows, read in one statement."""

    growth: FollowerGrowth
    demographics: Demographics
    activity: FollowerActivity


# The three statements above as one: `part` says which one a row comes from.
SECTION_SQL = f"""
SELECT 1 AS part, day, gained::bigint AS n, lost::bigint AS m, NULL::text AS dimension,
       NULL::text AS key
FROM ({GROWTH_SQL}) g
UNION ALL
SELECT 2, NULL, followers::bigint, 0, dimension, key FROM ({DEMOGRAPHICS_SQL}) d
UNION ALL
SELECT 3, NULL, views::bigint, weekday, NULL, hour::text
FROM ({ACTIVITY_SQL.replace("$2", "$4")}) a
"""


async def follower_section(
    conn: Connection, account_id: UUID, start: date, end: date
) -> FollowerSection:
    """:func:`follower_growth`, :func:`demographics` and :func:`follower_activity` over
    ``start .. end`` at once; one statement."""
    check_range(start, end)
    previous_start, _ = previous_period(start, end)
    rows = await conn.fetch(SECTION_SQL, account_id, previous_start, end, start)
    return FollowerSection(
        growth=_growth(((r[1], r[2], r[3]) for r in rows if r[0] == 1), start, end),
        demographics=_demographics((r[4], r[5], r[2]) for r in rows if r[0] == 2),
        activity=_activity(
            (None if r[5] is None else int(r[5]), r[3], r[2]) for r in rows if r[0] == 3
        ),
    )


async def follower_counts(conn: Connection, account_ids: Sequence[UUID]) -> dict[UUID, int]:
    """Current follower count of each id in ``account_ids`` (0 when none); one statement."""
    rows = await conn.fetch(
        f"SELECT account_id, followers FROM {SCHEMA}.follower_totals "
        "WHERE account_id = ANY($1::uuid[])",
        list(account_ids),
    )
    found = {r["account_id"]: int(r["followers"]) for r in rows}
    return {a: found.get(a, 0) for a in account_ids}
