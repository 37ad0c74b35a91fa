"""The log's partitions by position range (migration 8), and their upkeep.

``events`` is partitioned by ``position``: ``events_0`` is the table as it was before
migration 8, attached as it stood; then one partition per range of ``size``
positions, ``events_<first position>``. Positions still come from one identity, so
the skip-free reader is unchanged. Appends fail once the last partition is full:
``serve`` keeps :data:`AHEAD` partitions ahead (:func:`keep_ahead`, every
:data:`UPKEEP_INTERVAL` seconds on each node running projections; serialised by an
advisory lock, so nodes never race to add the same one), and
``analytics-graph partitions create`` does the same on demand.

**The deduplication window.** A unique index of a partitioned table must hold the
partition key, so each partition has its own unique index of event ids. An
``eventId`` counts once while the partition holding its first copy is attached:
``append_bulk`` looks every id up in all attached partitions, and keeps concurrent
appends of one id on the two sides of a boundary apart through each partition's
advisory key (:data:`KEY_SQL`; ``store.py``). Once a partition is exported and
detached, a resend of one of its ids would be stored again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final

import asyncpg

from analytics_graph.types import Connection

log = logging.getLogger(__name__)

DEFAULT_SIZE: Final = 100_000_000
"""Positions per partition: at 1 billion events a day, ten partitions a day."""
AHEAD: Final = 2
"""Empty partitions ``serve`` keeps beyond the last position drawn."""
UPKEEP_INTERVAL: Final = 600.0
"""Seconds between two checks (a partition of 100M positions lasts 2.4 hours at 1
billion events a day)."""
UPKEEP_LOCK: Final = "analytics_graph.eventstore.partitions"

LIST_SQL = """
SELECT p.name, p.lower, p.upper, c.reltuples::bigint AS estimate,
       pg_total_relation_size(c.oid) AS bytes
FROM events_partitions() p JOIN pg_class c ON c.relname = p.name
ORDER BY p.upper
"""
KEY_SQL: Final = "hashtextextended('analytics_graph.events.' || name, 0)"
"""A partition's advisory lock key, from its ``name`` (``store.py``: the appends that
may write in it)."""
LAST_DRAWN_SQL = (
    "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('events', 'position')), 0)"
)


@dataclass(frozen=True, slots=True)
class Partition:
    """An attached partition: positions ``lower <= p < upper`` (``lower`` None: from the
    first position on)."""

    name: str
    lower: int | None
    upper: int
    estimate: int
    """Rows, as last estimated by PostgreSQL (``ANALYZE``); -1 when never estimated."""
    bytes: int

    def holds(self, position: int) -> bool:
        return (self.lower is None or self.lower <= position) and position < self.upper


async def attached(conn: Connection) -> list[Partition]:
    """The attached partitions, in position order."""
    return [Partition(**dict(r)) for r in await conn.fetch(LIST_SQL)]


async def last_drawn(conn: Connection) -> int:
    """The last position drawn from the identity (0 before the first append)."""
    return int(await conn.fetchval(LAST_DRAWN_SQL))


async def create_ahead(conn: Connection, ahead: int, size: int = DEFAULT_SIZE) -> list[str]:
    """Adds partitions of ``size`` positions until ``ahead`` of them lie wholly beyond the
    last position drawn; returns the names of those it added (in one transaction)."""
    added: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", UPKEEP_LOCK)
        drawn = await last_drawn(conn)
        have = [p for p in await attached(conn) if p.lower is not None and p.lower > drawn]
        for _ in range(ahead - len(have)):
            added.append(await conn.fetchval("SELECT events_add_partition($1)", size))
    return added


async def keep_ahead(
    pool: asyncpg.Pool,
    *,
    ahead: int = AHEAD,
    size: int = DEFAULT_SIZE,
    interval: float = UPKEEP_INTERVAL,
) -> None:
    """Runs until cancelled: :func:`create_ahead` now and every ``interval`` seconds.
    A failure (the database away) is logged and tried again at the next turn."""
    while True:
        try:
            async with pool.acquire() as conn:
                added = await create_ahead(conn, ahead, size)
            if added:
                log.info("log partitions added ahead: %s", ", ".join(added))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("log partitions not checked: %s", error)
        await asyncio.sleep(interval)


async def cover(conn: Connection, upto: int, size: int = DEFAULT_SIZE) -> None:
    """Adds partitions until positions up to ``upto`` have one (a copy of another log)."""
    while max(p.upper for p in await attached(conn)) <= upto:
        await conn.fetchval("SELECT events_add_partition($1)", size)


async def find(conn: Connection, name: str) -> Partition | None:
    return next((p for p in await attached(conn) if p.name == name), None)
