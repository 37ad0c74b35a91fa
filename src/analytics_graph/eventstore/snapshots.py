"""Aggregate snapshots, in the ``snapshots`` table beside the log (not in it).

A snapshot is a cache of an aggregate's state at a version: the eventsourcing
library writes one when asked (``Application.take_snapshot``) or every N events,
and reads the latest to start from. Snapshots are not facts, so they are neither
part of the ordered log nor sealed; one per ``(stream, version)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from analytics_graph.errors import ConcurrencyError
from analytics_graph.eventstore.store import translated_errors

INSERT_SQL = """
INSERT INTO snapshots (stream_id, stream_version, topic, state)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bytea[])
"""
SELECT_SQL = """
SELECT stream_id, stream_version, topic, state FROM snapshots
WHERE stream_id = $1
  AND ($2::bigint IS NULL OR stream_version > $2)
  AND ($3::bigint IS NULL OR stream_version <= $3)
ORDER BY stream_version {order} LIMIT $4
"""


@dataclass(frozen=True, slots=True)
class Snapshot:
    stream_id: str
    stream_version: int
    topic: str
    state: bytes


async def insert(pool: asyncpg.Pool, snapshots: Sequence[Snapshot]) -> None:
    """Stores ``snapshots`` atomically; :class:`ConcurrencyError` (nothing stored) when
    one of their ``(stream, version)`` is taken."""
    if not snapshots:
        return
    columns = [
        [s.stream_id for s in snapshots],
        [s.stream_version for s in snapshots],
        [s.topic for s in snapshots],
        [s.state for s in snapshots],
    ]
    async with translated_errors():
        try:
            await pool.execute(INSERT_SQL, *columns)
        except asyncpg.UniqueViolationError as exc:
            raise ConcurrencyError(snapshots[0].stream_id, snapshots[0].stream_version) from exc


async def select(
    pool: asyncpg.Pool,
    stream_id: str,
    *,
    after_version: int | None = None,
    upto_version: int | None = None,
    desc: bool = False,
    limit: int | None = None,
) -> list[Snapshot]:
    """One stream's snapshots with ``after < version <= upto``, by version."""
    sql = SELECT_SQL.format(order="DESC" if desc else "ASC")
    async with translated_errors():
        rows = await pool.fetch(sql, stream_id, after_version, upto_version, limit)
    return [Snapshot(r[0], r[1], r[2], bytes(r[3])) for r in rows]
