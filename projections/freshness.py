"""How fresh the read models are: the last log position every one of them includes,
and when that event was recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from analytics_graph.types import Connection


@dataclass(frozen=True, slots=True)
class Freshness:
    """``position``: every event up to it is in the numbers (0: none yet);
    ``recorded_at``: when the last event at or before it was recorded (``None``
    for position 0)."""

    position: int
    recorded_at: datetime | None


SQL = """
WITH p AS (
    SELECT coalesce(min(position), 0) AS position FROM projection_checkpoints
    WHERE slot = 'live' AND name = ANY($1::text[])
)
SELECT p.position,
       (SELECT recorded_at FROM events WHERE position <= p.position
        ORDER BY position DESC LIMIT 1) AS recorded_at
FROM p
"""


async def freshness(conn: Connection, names: Sequence[str]) -> Freshness:
    """The :class:`Freshness` of the read models called ``names``; one statement."""
    row = await conn.fetchrow(SQL, list(names))
    assert row is not None
    return Freshness(int(row["position"]), row["recorded_at"])
