"""A simulated world for the projection tests, written into a store in parts, and a
runner driven until the read models include a given position."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import asyncpg

import projections
from analytics_graph.eventstore import EventStore, NewEvent
from analytics_graph.ingest.service import Ingestor
from analytics_graph.projection import Batch, Changes, Projection, ProjectionRunner, RunnerOptions
from analytics_graph.projection.status import wait_until_applied
from analytics_graph.simulation import (
    SimulationConfig,
    World,
    aggregate_events,
    deletion_events,
    generate_world,
)
from analytics_graph.types import Connection
from tests.integration.projection_oracle import Expected, expected_from

# Several accounts (some past the 100-follower threshold, some not), hundreds of
# videos, tens of thousands of events with late ones, re-deliveries, follow churn
# and deleted videos.
CONFIG = SimulationConfig(
    seed=11, accounts=8, videos_per_account=30, users=2500, events=40_000, weeks=4
)
FAST = RunnerOptions(batch_size=5_000, takeover_interval=0.05, retry_interval=0.05)


@functools.cache
def world() -> World:
    return generate_world(CONFIG)


@functools.cache
def expected() -> Expected:
    return expected_from(world())


def events() -> list[dict[str, Any]]:
    return list(world().events())


async def ingest(store: EventStore, batch: Sequence[dict[str, Any]], size: int = 5_000) -> None:
    """Ingests ``batch`` in order, in ingest batches of ``size``; every event must pass."""
    ingestor = Ingestor(store, max_batch=size)
    items = iter(batch)
    while part := list(islice(items, size)):
        outcome = await ingestor.ingest_events(part)
        assert not outcome.rejections, outcome.rejections[0]


async def load(store: EventStore, parts: int = 1) -> list[list[dict[str, Any]]]:
    """Appends the accounts and videos, then returns the events split in ``parts``
    (to ingest in turn) ; call :func:`finish` after the last."""
    await store.append(aggregate_events(world()))
    all_events = events()
    step = -(-len(all_events) // parts)
    return [all_events[i : i + step] for i in range(0, len(all_events), step)]


async def finish(store: EventStore) -> int:
    """Appends the deletions; returns the last position of the log."""
    if deletions := deletion_events(world()):
        await store.append(deletions)
    return await store.last_position()


async def load_all(store: EventStore) -> int:
    """The whole world in the store; returns the last position."""
    for part in await load(store):
        await ingest(store, part)
    return await finish(store)


async def wait_applied(
    pool: asyncpg.Pool, position: int, chosen: Sequence[Projection] = projections.ALL
) -> None:
    async with pool.acquire() as conn:
        await wait_until_applied(conn, chosen, position, within=120)


async def run_to(
    url: str,
    store: EventStore,
    position: int,
    chosen: Sequence[Projection] = projections.ALL,
    options: RunnerOptions = FAST,
) -> None:
    """Runs a runner until every projection in ``chosen`` includes ``position``."""
    async with ProjectionRunner(url, store, None, chosen, options):
        await wait_applied(store.pool, position, chosen)


def slowed(projection: Projection, pause: float, hits: list[str] | None = None) -> Projection:
    """``projection`` with a pause inside each batch's transaction, after its changes
    and before the checkpoint advance: where a crash would hurt most. ``hits`` gets
    the name appended whenever a batch is cancelled during that pause."""
    original = projection.apply

    async def apply(conn: Connection, batch: Batch) -> Changes:
        changes = await original(conn, batch)
        try:
            await asyncio.sleep(pause)
        except asyncio.CancelledError:
            if hits is not None:
                hits.append(projection.name)
            raise
        return changes

    return dataclasses.replace(projection, apply=apply)


def fact() -> NewEvent:
    """A profile view on a stream of its own: any one event for the log."""
    return NewEvent(
        stream_id=str(uuid.uuid4()), type="profileView", event_id=uuid.uuid4(),
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC), data={"viewerId": "v"},
    )  # fmt: skip
