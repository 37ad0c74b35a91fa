"""Checkpoints: how far each projection has folded the log, stored beside its tables.

One row per projection and *slot*: ``live`` (the tables queries read) and, while
a rebuild runs, ``build`` (the fresh tables being filled). A batch's changes and
its checkpoint advance commit in one transaction (``batches.py``), so after a
crash the tables and the checkpoint always agree: no event is lost or counted
twice. The row is locked (``FOR UPDATE``) first in every such transaction, which
also serialises two runners that would otherwise both work on a projection.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from analytics_graph.types import Connection

# One advisory-lock key for creating the runner's own table and new live schemas.
DDL_LOCK = 0x70726F6A65637421  # "project!"

CHECKPOINTS_DDL = """
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name       text        NOT NULL,
    slot       text        NOT NULL CHECK (slot IN ('live', 'build')),
    version    integer     NOT NULL,
    position   bigint      NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, slot)
)
"""


class Slot(StrEnum):
    LIVE = "live"
    BUILD = "build"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where one slot of a projection stands: its tables' version and last applied position."""

    name: str
    slot: Slot
    version: int
    position: int


class CheckpointMoved(Exception):
    """The checkpoint is not where the caller expected it (another runner or a rebuild
    moved it, or the version changed); the batch was not applied."""

    def __init__(self, found: Checkpoint | None) -> None:
        super().__init__(f"checkpoint moved: now {found}")
        self.found = found


async def ensure_table(conn: Connection) -> None:
    """Creates ``projection_checkpoints`` if missing (safe from concurrent callers)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", DDL_LOCK)
        await conn.execute(CHECKPOINTS_DDL)


def _checkpoint(row: asyncpg.Record) -> Checkpoint:
    return Checkpoint(row["name"], Slot(row["slot"]), row["version"], row["position"])


async def read(conn: Connection, name: str, slot: Slot, *, lock: bool = False) -> Checkpoint | None:
    """The checkpoint of ``name``/``slot``, or ``None``; ``lock`` takes its row lock
    until the end of the caller's transaction."""
    sql = "SELECT name, slot, version, position FROM projection_checkpoints"
    sql += " WHERE name=$1 AND slot=$2" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, name, slot.value)
    return None if row is None else _checkpoint(row)


async def read_all(conn: Connection) -> list[Checkpoint]:
    """Every checkpoint, by name then slot."""
    rows = await conn.fetch(
        "SELECT name, slot, version, position FROM projection_checkpoints ORDER BY name, slot"
    )
    return [_checkpoint(r) for r in rows]


async def live_tag(conn: Connection) -> str:
    """The live checkpoints in one value (``name/version@position``, by name): equal
    exactly while no live read model has moved. One row, one column, for callers that
    only compare it (the answer cache asks on every query)."""
    tag = await conn.fetchval(
        "SELECT coalesce(string_agg(name || '/' || version || '@' || position, ' '"
        " ORDER BY name), '') FROM projection_checkpoints WHERE slot = 'live'"
    )
    return str(tag)


async def claim(conn: Connection, name: str, slot: Slot, version: int, position: int) -> None:
    """Locks the checkpoint and raises :class:`CheckpointMoved` unless it stands at
    ``version``/``position``. Call inside a transaction, before applying a batch."""
    found = await read(conn, name, slot, lock=True)
    if found is None or found.version != version or found.position != position:
        raise CheckpointMoved(found)


async def advance(conn: Connection, name: str, slot: Slot, position: int) -> None:
    """Moves a claimed checkpoint to ``position`` (in the caller's transaction)."""
    await conn.execute(
        "UPDATE projection_checkpoints SET position=$3, updated_at=now() WHERE name=$1 AND slot=$2",
        name,
        slot.value,
        position,
    )


async def put(conn: Connection, name: str, slot: Slot, version: int, position: int) -> None:
    """Creates or resets a checkpoint (in the caller's transaction)."""
    await conn.execute(
        """
        INSERT INTO projection_checkpoints (name, slot, version, position) VALUES ($1, $2, $3, $4)
        ON CONFLICT (name, slot) DO UPDATE
        SET version=EXCLUDED.version, position=EXCLUDED.position,
            started_at=now(), updated_at=now()
        """,
        name,
        slot.value,
        version,
        position,
    )


async def remove(conn: Connection, name: str, slot: Slot) -> None:
    await conn.execute(
        "DELETE FROM projection_checkpoints WHERE name=$1 AND slot=$2", name, slot.value
    )
