"""Every number of every read model equals what the events say, computed independently."""

from __future__ import annotations

import dataclasses

import asyncpg
import pytest

import projections
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener, Notifier
from analytics_graph.projection import ProjectionRunner
from tests.integration import projection_world as pw
from tests.integration.projection_checks import check_all
from tests.integration.projection_world import FAST


def test_the_world_covers_what_the_checks_need() -> None:
    exp, world = pw.expected(), pw.world()
    assert len(world.videos) >= 100 and exp.events >= 30_000 and exp.duplicates > 0
    assert any(v.deleted_at for v in world.videos)
    totals = [len(exp.followers[a.id]) for a in world.accounts]
    assert min(totals) < 100 <= max(totals)  # both sides of the demographics threshold
    assert sum(c["lost"] for c in exp.follower_days.values()) > 0
    assert sum(exp.activity.values()) > 0


@pytest.mark.parametrize("fill", [True, False], ids=["first-batch-filled", "applied-only"])
async def test_read_models_match_the_events_exactly(
    database_url: str, pool: asyncpg.Pool, fill: bool
) -> None:
    """Half the events are in the log before the runner starts (catch-up), the rest
    arrive while it follows the log on LISTEN/NOTIFY wake-ups. Filled: the catch-up
    takes the first half in one batch, folded by the projections' ``fill`` where they
    have one; applied only: every batch (of 5,000) goes through ``apply``."""
    options = FAST if fill else dataclasses.replace(FAST, fill_size=0)
    async with Notifier(database_url) as notifier, Listener(database_url) as listener:
        store = EventStore(pool, notifier)
        first, second = await pw.load(store, parts=2)
        await pw.ingest(store, first)
        async with ProjectionRunner(database_url, store, listener, projections.ALL, options):
            await pw.wait_applied(pool, await store.last_position())
            await pw.ingest(store, second)
            await pw.wait_applied(pool, await pw.finish(store))
    await check_all(pool, pw.world(), pw.expected())
