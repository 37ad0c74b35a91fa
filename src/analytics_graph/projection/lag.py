"""How far behind the log each projection's live tables are, cheaply enough to scrape.

Unlike :func:`analytics_graph.projection.status.status` this creates nothing and
counts at most ``COUNT_CAP`` unapplied events per projection, so a probe or a
metrics scrape stays cheap while a projection rebuilds far behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from analytics_graph.types import Connection

COUNT_CAP: Final = 1_000_000
LAG_SQL: Final = """
SELECT c.name, c.position,
       (SELECT count(*) FROM (SELECT 1 FROM events e WHERE e.position > c.position
                              LIMIT $1) unapplied) AS events,
       coalesce(extract(epoch FROM now() - (
           SELECT e.recorded_at FROM events e WHERE e.position > c.position
           ORDER BY e.position LIMIT 1)), 0)::float8 AS seconds
FROM projection_checkpoints c
WHERE c.slot = 'live'
ORDER BY c.name
"""


@dataclass(frozen=True, slots=True)
class Lag:
    """One projection's live position; ``events`` unapplied after it (at most
    ``COUNT_CAP``), ``seconds`` since the oldest of them was recorded (0: caught up)."""

    name: str
    position: int
    events: int
    seconds: float


async def lags(conn: Connection) -> list[Lag]:
    """The lag of every projection with live tables (none before the runner first ran)."""
    exists = await conn.fetchval("SELECT to_regclass('projection_checkpoints') IS NOT NULL")
    if not exists:
        return []
    rows = await conn.fetch(LAG_SQL, COUNT_CAP)
    return [Lag(r["name"], r["position"], r["events"], r["seconds"]) for r in rows]
