"""Reading the alerts raised (read model of ``alerts``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from analytics_graph.projection import live_schema
from analytics_graph.types import Connection

SCHEMA = live_schema("alerts")
MAX_ALERTS = 1_000


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    """One ``AlertRaised`` event of the log (see ``analytics_graph/alerts/events.py``)."""

    event_id: UUID
    position: int
    rule: str
    subject_id: UUID
    window_start: datetime
    window_end: datetime
    value: int
    baseline: float
    threshold: float
    raised_at: datetime


async def alerts_in_range(
    conn: Connection, account_id: UUID, start: date, end: date
) -> list[RaisedAlert]:
    """The account's alerts whose window starts on a UTC day of ``start .. end``, newest
    window first (at most :data:`MAX_ALERTS`)."""
    rows = await conn.fetch(
        f"""
        SELECT event_id, position, rule, subject_id, window_start, window_end, value, baseline,
               threshold, raised_at
        FROM {SCHEMA}.raised
        WHERE account_id = $1
          AND window_start >= ($2::date AT TIME ZONE 'UTC')
          AND window_start < (($3::date + 1) AT TIME ZONE 'UTC')
        ORDER BY window_start DESC, position DESC LIMIT $4
        """,
        account_id,
        start,
        end,
        MAX_ALERTS,
    )
    return [RaisedAlert(**dict(r.items())) for r in rows]
