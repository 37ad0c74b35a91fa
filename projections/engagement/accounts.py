"""Reading an account's engagement overview (read model of ``engagement``)."""

from __future__ import annotations

from collections.abc import Sequence
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
    return (await overviews(conn, [account_id], start, end))[account_id]


async def overviews(
    conn: Connection, account_ids: Sequence[UUID], start: date, end: date
) -> dict[UUID, AccountOverview]:
    """:func:`overview` of each of ``account_ids`` (zeros for one without days), in one
    statement."""
    check_range(start, end)
    previous_start, _ = previous_period(start, end)
    sql = f"""
        SELECT account_id, day, {", ".join(METRICS)} FROM {{schema}}.account_days
        WHERE account_id = ANY($1::uuid[]) AND day BETWEEN $2 AND $3
    """
    rows = await conn.fetch(qualify(sql, SCHEMA), list(account_ids), previous_start, end)
    # per account, one {day: count} per metric, in METRICS' order
    per_day: dict[UUID, tuple[dict[date, int], ...]] = {
        a: tuple({} for _ in METRICS) for a in account_ids
    }
    for account_id, day, *counts in rows:
        for values, count in zip(per_day[account_id], counts, strict=True):
            values[day] = count
    return {
        a: AccountOverview(
            **{
                name: metric(values, start, end)
                for name, values in zip(METRICS, per_day[a], strict=True)
            }
        )
        for a in account_ids
    }
