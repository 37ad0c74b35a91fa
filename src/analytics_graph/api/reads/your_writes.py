"""Read your writes: a mutation returns once the read models include its events."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from analytics_graph.api.context import Context
from analytics_graph.projection import Projection, wait_until_applied

log = logging.getLogger(__name__)


def of_aggregates(projections: Sequence[Projection]) -> list[Projection]:
    """The projections that fold account and video events (their topics hold a colon,
    ``module:Class.Event``; engagement types do not): what a mutation changes."""
    return [p for p in projections if any(":" in kind for kind in p.handles)]


async def read_your_writes(context: Context) -> None:
    """Waits until the projections of account and video events have applied the log
    as far as it is now, and records that position as ``context.written`` (the
    answer carries it: a later request passing it back reads a state that has it,
    on whichever replica or node it lands).

    Gives up (logging a warning) after ``limits.read_your_writes_seconds``: the
    change is stored either way, and the read models will show it shortly.
    """
    services = context.services
    position = context.written = await services.store.last_position()
    try:
        async with services.pool.acquire() as conn:
            await wait_until_applied(
                conn,
                of_aggregates(services.projections),
                position,
                within=services.limits.read_your_writes_seconds,
            )
    except TimeoutError:
        log.warning("read models did not reach position %s in time", position)
