"""A writer for the torture test: appends batches of 1 to 1,000 events in mixed ways.

Run in-process (``write``) or as a separate process
(``python -m tests.integration.torture_writer URL NAME SEED ROUNDS OUTFILE``), which
writes the committed event ids, one per line, to OUTFILE.
"""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from analytics_graph.database import create_pool
from analytics_graph.eventstore import EventStore, NewEvent

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _fact(name: str) -> NewEvent:
    return NewEvent(name, "view", event_id=uuid.uuid4(), occurred_at=NOW, data={"w": name})


async def write(store: EventStore, name: str, seed: int, rounds: int) -> list[uuid.UUID]:
    """Appends ``rounds`` batches; returns the ids of the events that committed.

    Modes: COPY bulk append; INSERT into the writer's own stream; a slow
    transaction that holds its positions open for a while before committing
    (the late commits readers must not skip); a transaction that rolls back
    (holes readers must pass).
    """
    rng = random.Random(seed)
    committed: list[uuid.UUID] = []
    version = 0
    for _ in range(rounds):
        size = rng.randint(1, 1000)
        mode = rng.choice(["bulk", "insert", "slow", "abort"])
        if mode == "bulk":
            batch = [_fact(name) for _ in range(size)]
            await store.append_bulk(batch)
            committed += [e.event_id for e in batch if e.event_id]
            continue
        batch = [
            NewEvent(name, "step", version + i + 1, event_id=uuid.uuid4(), state=b"s")
            for i in range(size)
        ]
        async with store.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await store.append(batch, conn=conn)
            if mode == "slow":
                await asyncio.sleep(rng.uniform(0, 0.05))
            if mode == "abort":
                await tx.rollback()
                continue
            await tx.commit()
        version += size
        committed += [e.event_id for e in batch if e.event_id]
    return committed


async def _main(url: str, name: str, seed: int, rounds: int, outfile: str) -> None:
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        ids = await write(EventStore(pool), name, seed, rounds)
    finally:
        await pool.close()
    await asyncio.to_thread(Path(outfile).write_text, "".join(f"{i}\n" for i in ids))


if __name__ == "__main__":
    url, name, seed, rounds, outfile = sys.argv[1:6]
    asyncio.run(_main(url, name, int(seed), int(rounds), outfile))
