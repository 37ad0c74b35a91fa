"""A follower of the log with a least interval between ranges (the alert evaluator:
its cost is per range) takes what was appended meanwhile as one range."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from analytics_graph.eventstore import EventStore
from analytics_graph.projection.follower import ElectedFollower
from analytics_graph.types import Connection
from tests.integration import projection_world as pw


@dataclass(frozen=True, slots=True)
class Options:
    min_interval: float
    batch_size: int = 100_000
    poll_interval: float = 0.02
    retry_interval: float = 0.05


class Recorder(ElectedFollower):
    lock = "analytics_graph.tests.recorder"
    name = "recorder"

    def __init__(self, database_url: str, store: EventStore, options: Options) -> None:
        super().__init__(database_url, store, None, options)
        self.spans: list[tuple[int, int]] = []
        self.applied = asyncio.Condition()

    async def checkpoint(self, conn: Connection) -> int:
        return 0

    async def apply(self, conn: Connection, after: int, upto: int) -> None:
        async with self.applied:
            self.spans.append((after, upto))
            self.applied.notify_all()

    async def reached(self, position: int) -> None:
        async with asyncio.timeout(30), self.applied:
            await self.applied.wait_for(lambda: bool(self.spans) and self.spans[-1][1] >= position)


async def test_what_comes_within_the_least_interval_is_one_range(
    database_url: str, store: EventStore
) -> None:
    follower = Recorder(database_url, store, Options(min_interval=2.0))
    async with follower:
        await store.append([pw.fact()])
        first = await store.last_position()
        await follower.reached(first)  # applied; the next range starts 2 s after it
        for _ in range(4):  # four appends 0.1 s apart, each seen by the next poll (20 ms)
            await asyncio.sleep(0.1)
            await store.append([pw.fact()])
        last = await store.last_position()
        await follower.reached(last)
    assert follower.spans == [(0, first), (first, last)]
