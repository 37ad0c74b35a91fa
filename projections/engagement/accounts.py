"""Reading an account's engagement overview (read model of ``engagement``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from analytics_graph.projection import live_schema
from analytics_graph.projection.tables import qualify
from analytics_graph.types import Connection
from projections.readmodel import Metric, check_range, metric, previous_period

SCHEMA = live_schema("engagement")
METRICS = ("video_views", "profile_views", "likes", "comments", "shares")


@dataclass(frozen=True, slots=True)
class AccountOverview:
    """The account's engagement in a range, each with the previous period and daily series.

    ``video_views``: views of the account's videos; ``profile_views``: visits to its
    profile; ``likes``: likes minus unlikes; ``comments``; ``shares``. Videos deleted
    since keep counting here.
    """

    video_views: Metric
    profile_views: Metric
    likes: Metric
    comments: Metric
    shares: Metric


async def overview(conn: Connection, account_id: UUID, start: date, end: date) -> AccountOverview:
    """The five counts over ``start .. end`` (one statement, O(days))."""
    check_range(start, end)
    previous_start, _ = previous_period(start, end)
    sql = f"""
        SELECT day, {", ".join(METRICS)} FROM {{schema}}.account_days
        WHERE account_id = $1 AND day BETWEEN $2 AND $3
    """
    rows = await conn.fetch(qualify(sql, SCHEMA), account_id, previous_start, end)
    per_day: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        for name in METRICS:
            per_day[name][row["day"]] = row[name]
    return AccountOverview(**{name: metric(per_day[name], start, end) for name in METRICS})
