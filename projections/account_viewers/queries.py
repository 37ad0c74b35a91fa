"""Reading an account's viewers over a range: total, new, returning, and per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple
from uuid import UUID

from analytics_graph.projection import live_schema
from analytics_graph.types import Connection
from projections import audience
from projections.readmodel import check_range, days

SCHEMA = live_schema("account_viewers")


class DailyViewers(NamedTuple):
    """One day: distinct viewers, and those of them who had not viewed the account in
    the 365 days before that day."""

    date: date
    total: int
    new: int


@dataclass(frozen=True, slots=True)
class Viewers:
    """Distinct viewers of any of the account's videos in a range (exact).

    ``new``: those who had not viewed any of the account's videos in the 365 days
    before their first view in the range; ``returning = total - new``."""

    total: int
    new: int
    daily: list[DailyViewers]

    @property
    def returning(self) -> int:
        return self.total - self.new


SQL = f"""
SELECT day, {audience.range_sums("$2::date")}
FROM {SCHEMA}.account_viewer_gaps
WHERE account_id = $1 AND day BETWEEN $2 AND $3
GROUP BY day
"""


async def viewers(conn: Connection, account_id: UUID, start: date, end: date) -> Viewers:
    """The account's :class:`Viewers` over ``start .. end`` (at most
    ``audience.GAP_CAP`` days): one statement reading O(days) histogram rows."""
    check_range(start, end)
    per_day = {r["day"]: r for r in await conn.fetch(SQL, account_id, start, end)}
    daily = [
        DailyViewers(d, int(r["seen"]), int(r["new"])) if (r := per_day.get(d)) else
        DailyViewers(d, 0, 0)
        for d in days(start, end)
    ]  # fmt: skip
    return Viewers(
        total=sum(int(r["first_seen"]) for r in per_day.values()),
        new=sum(int(r["new_in_range"]) for r in per_day.values()),
        daily=daily,
    )
