"""Where each projection stands against the log: version, position, lag."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from analytics_graph.projection import checkpoints
from analytics_graph.projection.checkpoints import Checkpoint, Slot
from analytics_graph.projection.projector import Projection
from analytics_graph.types import Connection


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    """One projection's standing.

    ``lag_events``: events committed after ``position`` (not yet in the live tables);
    ``lag_time``: how long ago the oldest of them was recorded (``None`` when caught
    up); ``build_*``: a rebuild in progress, if any.
    """

    name: str
    code_version: int
    live_version: int | None
    position: int | None
    lag_events: int
    lag_time: timedelta | None
    build_version: int | None
    build_position: int | None


async def _lag(conn: Connection, position: int) -> tuple[int, timedelta | None]:
    row = await conn.fetchrow(
        """
        SELECT count(*) AS events,
               now() - (SELECT recorded_at FROM events WHERE position > $1
                        ORDER BY position LIMIT 1) AS age
        FROM events WHERE position > $1
        """,
        position,
    )
    assert row is not None
    return int(row["events"]), row["age"]


async def status(conn: Connection, projections: Sequence[Projection]) -> list[ProjectionStatus]:
    """The standing of every projection in ``projections``."""
    await checkpoints.ensure_table(conn)
    found = {(c.name, c.slot): c for c in await checkpoints.read_all(conn)}
    result = []
    for projection in projections:
        live = found.get((projection.name, Slot.LIVE))
        build = found.get((projection.name, Slot.BUILD))
        events, age = await _lag(conn, live.position if live else 0)
        result.append(
            ProjectionStatus(
                name=projection.name,
                code_version=projection.version,
                live_version=live.version if live else None,
                position=live.position if live else None,
                lag_events=events,
                lag_time=age,
                build_version=build.version if build else None,
                build_position=build.position if build else None,
            )
        )
    return result


async def live_positions(conn: Connection, names: Sequence[str]) -> dict[str, Checkpoint]:
    """The live checkpoints of ``names`` (those that exist)."""
    return {
        c.name: c
        for c in await checkpoints.read_all(conn)
        if c.slot is Slot.LIVE and c.name in names
    }


async def wait_until_applied(
    conn: Connection,
    projections: Sequence[Projection],
    position: int,
    *,
    within: float = 30.0,
    interval: float = 0.01,
) -> None:
    """Waits until every projection's live tables (of its code version) include
    ``position``; raises ``TimeoutError`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    wanted = {p.name: p.version for p in projections}
    while True:
        live = await live_positions(conn, list(wanted))
        if all(
            n in live and live[n].version == v and live[n].position >= position
            for n, v in wanted.items()
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"projections did not reach position {position}: {live}")
        await asyncio.sleep(interval)


async def live_position_of(conn: Connection, names: Sequence[str]) -> int | None:
    """The lowest live position among the projections ``names``; ``None`` while one of
    them has no live checkpoint yet."""
    live = await live_positions(conn, names)
    if len(live) < len(set(names)):
        return None
    return min(c.position for c in live.values())


async def wait_until_named_applied(conn: Connection, names: Sequence[str], position: int) -> None:
    """Waits, without a deadline, until the live read models of ``names`` include
    ``position`` (for followers of the log that read them: the webhook dispatcher,
    the alert evaluator); polls from 2 ms, backing off to 100 ms."""
    delay = 0.002
    while True:
        lowest = await live_position_of(conn, names)
        if lowest is not None and lowest >= position:
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)
