"""A projection runner in a process of its own, for the SIGKILL test.

``python -m tests.integration.projection_process URL`` runs every projection,
each batch pausing inside its transaction (after the changes, before the
checkpoint advance), until killed.
"""

from __future__ import annotations

import asyncio
import sys

import projections
from analytics_graph.database import create_pool
from analytics_graph.eventstore import EventStore
from analytics_graph.projection import ProjectionRunner, RunnerOptions
from tests.integration.projection_world import slowed


async def main(url: str) -> None:
    pool = await create_pool(url, min_size=1, max_size=4)
    chosen = [slowed(p, 0.05) for p in projections.ALL]
    options = RunnerOptions(batch_size=1_000, takeover_interval=0.05, retry_interval=0.05)
    async with ProjectionRunner(url, EventStore(pool), None, chosen, options):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
