"""Torture: 8 concurrent writers (in this process and in two others) append batches
of 1 to 1,000 events, some slow to commit and some rolled back, while readers tail
the log. Every committed event must be seen exactly once, in position order."""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from analytics_graph.eventstore import EventStore, LogCursor, RecordedEvent
from tests.integration.torture_writer import write

IN_PROCESS_WRITERS = 6
PROCESS_WRITERS = 2
ROUNDS = 30


async def tail(store: EventStore, done: asyncio.Event) -> list[RecordedEvent]:
    """Follows the log with a cursor until the writers are done and it has caught up."""
    cursor = LogCursor()
    rng = random.Random(7)
    seen: list[RecordedEvent] = []
    while True:
        finished = done.is_set()
        batch = await store.read_next(cursor, limit=rng.randint(1, 3000))
        seen += batch
        caught_up = finished and not batch and not cursor.blocked
        if caught_up and cursor.position >= await store.final_position():
            return seen
        if not batch:
            await asyncio.sleep(0.002)


async def page(store: EventStore, done: asyncio.Event) -> list[RecordedEvent]:
    """Follows the log with the stateless ``read_log`` paging, as auditors do."""
    seen: list[RecordedEvent] = []
    position = 0
    while True:
        finished = done.is_set()
        batch = await store.read_log(after=position, limit=2000)
        seen += batch
        if batch:
            position = batch[-1].position
        elif finished:
            return seen
        else:
            await asyncio.sleep(0.005)


async def run_process_writer(url: str, name: str, seed: int, out: Path) -> list[uuid.UUID]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.torture_writer",
        url, name, str(seed), str(ROUNDS), str(out),
    )  # fmt: skip
    assert await proc.wait() == 0
    text = await asyncio.to_thread(out.read_text)
    return [uuid.UUID(line) for line in text.split()]


def check(seen: list[RecordedEvent], committed: set[uuid.UUID]) -> None:
    positions = [e.position for e in seen]
    assert positions == sorted(set(positions)), "out of order or repeated"
    ids = [e.event_id for e in seen]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert set(ids) == committed, (
        f"missed {len(committed - set(ids))}, unexpected {len(set(ids) - committed)}"
    )


@pytest.mark.slow
async def test_no_reader_skips_or_repeats_under_concurrent_writers(
    store: EventStore, database_url: str, tmp_path: Path
) -> None:
    done = asyncio.Event()
    tailer = asyncio.create_task(tail(store, done))
    pager = asyncio.create_task(page(store, done))
    writers = [write(store, f"w{i}", seed=i, rounds=ROUNDS) for i in range(IN_PROCESS_WRITERS)]
    writers += [
        run_process_writer(database_url, f"p{i}", 100 + i, tmp_path / f"p{i}.ids")
        for i in range(PROCESS_WRITERS)
    ]
    results = await asyncio.gather(*writers)
    done.set()
    committed = {event_id for ids in results for event_id in ids}
    assert len(committed) > 10_000  # the run really was a torture

    tailed, paged = await asyncio.wait_for(asyncio.gather(tailer, pager), 60)
    check(tailed, committed)
    check(paged, committed)

    conn = await asyncpg.connect(database_url)
    try:
        holes = await conn.fetchval("SELECT max(position) - count(*) FROM events")
    finally:
        await conn.close()
    assert holes > 0  # rolled-back appends left holes, and the readers passed them
