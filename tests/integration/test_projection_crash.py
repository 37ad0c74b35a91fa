"""Crash safety: a runner stopped mid-batch (task cancelled, or process SIGKILLed)
neither loses nor double-counts an event once another runner finishes the job."""

from __future__ import annotations

import asyncio
import random
import signal
import sys

import asyncpg
import pytest

import projections
from analytics_graph.eventstore import EventStore
from analytics_graph.projection import ProjectionRunner, RunnerOptions
from analytics_graph.projection.checkpoints import ensure_table, read_all
from tests.integration import projection_world as pw
from tests.integration.projection_checks import check_all


async def positions(pool: asyncpg.Pool) -> list[int]:
    async with pool.acquire() as conn:
        await ensure_table(conn)
        return [c.position for c in await read_all(conn)]


async def test_cancelling_mid_batch_loses_and_doubles_nothing(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    head = await pw.load_all(store)
    hits: list[str] = []
    slow = [pw.slowed(p, 0.05, hits) for p in projections.ALL]
    options = RunnerOptions(batch_size=500, takeover_interval=0.02, retry_interval=0.02)
    rng = random.Random(5)
    # ~1.2 s of work in all, against ~4 s needed to finish; on a loaded machine
    # more rounds, until some projection has moved (without asserting on time)
    for round_ in range(40):
        runner = ProjectionRunner(database_url, store, None, slow, options)
        await runner.start()
        await asyncio.sleep(rng.uniform(0.05, 0.25))
        await runner.stop()
        if round_ >= 7 and hits and max(await positions(pool)) > 0:
            break
    assert hits, "no cancellation landed inside a batch"
    reached = await positions(pool)
    assert max(reached) > 0 and min(reached) < head  # stopped part-way
    await pw.run_to(database_url, store, head)
    await check_all(pool, pw.world(), pw.expected())


@pytest.mark.slow
async def test_sigkill_mid_batch_loses_and_doubles_nothing(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    head = await pw.load_all(store)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.projection_process", database_url
    )
    try:
        while sum(await positions(pool)) < 4 * 5_000:  # well under way, far from done
            assert process.returncode is None
            await asyncio.sleep(0.05)
        await asyncio.sleep(random.Random(3).uniform(0, 0.05))
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert min(await positions(pool)) < head
    await pw.run_to(database_url, store, head)  # takes over the locks the dead process held
    await check_all(pool, pw.world(), pw.expected())
