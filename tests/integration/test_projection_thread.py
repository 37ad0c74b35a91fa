"""The server's projection runner works on a loop and connections of its own, in a
thread: the read models follow the log even while the server's loop is held."""

from __future__ import annotations

import asyncio
import threading
import time

import asyncpg
import pytest

import projections
from analytics_graph.eventstore import EventStore
from analytics_graph.projection.threaded import RunnerThread
from tests.integration import projection_world as pw
from tests.integration.projection_checks import check_all


def _positions(thread: RunnerThread) -> dict[str, int | None]:
    runner = thread.runner
    assert runner is not None
    return {name: worker.position for name, worker in runner.workers.items()}


async def test_the_read_models_follow_the_log_while_the_servers_loop_is_held(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    last = await pw.load_all(store)  # nothing projected yet
    thread = RunnerThread(database_url, projections.ALL, pw.FAST)
    await thread.start()
    try:
        # Hold this loop, as a long round of the API would, until every worker has
        # applied the whole log: a runner on this loop would never get there.
        deadline = time.monotonic() + 120
        while set(_positions(thread).values()) != {last}:
            assert time.monotonic() < deadline, _positions(thread)
            time.sleep(0.05)  # noqa: ASYNC251 - holding the loop is the point
    finally:
        await thread.stop()
    assert thread.runner is None
    assert not [t for t in threading.enumerate() if t.name == "projections"]
    await thread.stop()  # twice: harmless
    await check_all(pool, pw.world(), pw.expected())
    await thread.start()  # again, after a stop: it follows until stopped again
    try:
        async with asyncio.timeout(60):
            while set(_positions(thread).values()) != {last}:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await thread.stop()


async def test_a_runner_that_cannot_start_raises_and_leaves_no_thread() -> None:
    thread = RunnerThread("postgresql://postgres@127.0.0.1:1/nowhere", projections.ALL)
    with pytest.raises(ConnectionRefusedError):
        await thread.start()
    assert not [t for t in threading.enumerate() if t.name == "projections"]
    await thread.stop()  # nothing to stop
