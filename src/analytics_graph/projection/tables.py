"""Each projection's tables live in a PostgreSQL schema of their own.

Queries read ``rm_<name>`` (the live schema). A rebuild fills ``rm_<name>__build``
and then, in one transaction, drops the live schema and renames the build one
into its place: queries see the old numbers until that commit and the new ones
after it, never a mix.
"""

from __future__ import annotations

from collections.abc import Iterable

from analytics_graph.projection import checkpoints
from analytics_graph.projection.checkpoints import DDL_LOCK, Slot
from analytics_graph.projection.projector import Projection, rebuild_schema
from analytics_graph.types import Connection


def qualify(sql: str, schema: str) -> str:
    """``sql`` with every ``{schema}`` replaced (no other brace is touched)."""
    return sql.replace("{schema}", schema)


async def create_tables(conn: Connection, projection: Projection, schema: str) -> None:
    """(Re)creates ``schema`` empty with the projection's tables, in the caller's transaction."""
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.execute(qualify(projection.ddl, schema))


async def ensure_live(conn: Connection, projections: Iterable[Projection]) -> None:
    """Makes sure the checkpoint table exists and every projection has live tables.

    A projection seen for the first time gets empty tables at its current version,
    checkpoint 0, so queries work (answering zeros) before the runner catches up.
    Safe to call from several processes at once.
    """
    await checkpoints.ensure_table(conn)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", DDL_LOCK)
        for projection in projections:
            if await checkpoints.read(conn, projection.name, Slot.LIVE) is None:
                await create_tables(conn, projection, projection.schema)
                await checkpoints.put(conn, projection.name, Slot.LIVE, projection.version, 0)


async def start_build(conn: Connection, projection: Projection, *, fresh: bool) -> int:
    """Prepares the build slot and returns the position to build from.

    Resumes an unfinished build of the same version unless ``fresh``; otherwise
    starts from empty tables at position 0.
    """
    found = await checkpoints.read(conn, projection.name, Slot.BUILD)
    if found is not None and found.version == projection.version and not fresh:
        return found.position
    async with conn.transaction():
        await create_tables(conn, projection, rebuild_schema(projection.name))
        await checkpoints.put(conn, projection.name, Slot.BUILD, projection.version, 0)
    return 0


async def swap_in(conn: Connection, projection: Projection, position: int) -> None:
    """Replaces the live tables with the build ones, at ``position``.

    Call inside a transaction that holds the live checkpoint's row lock, with the
    build slot at ``position``.
    """
    await conn.execute(f"DROP SCHEMA IF EXISTS {projection.schema} CASCADE")
    build = rebuild_schema(projection.name)
    await conn.execute(f"ALTER SCHEMA {build} RENAME TO {projection.schema}")
    await checkpoints.put(conn, projection.name, Slot.LIVE, projection.version, position)
    await checkpoints.remove(conn, projection.name, Slot.BUILD)
