"""A deterministic simulated world of creators, videos and engagement, for tests and benches.

Usage::

    world = generate_world(SimulationConfig(seed=7, accounts=20, events=50_000))
    world.accounts          # [SimAccount(id, handle, display_name, account_type)], some Pro
    world.videos            # [SimVideo(id, account_id, caption, duration_seconds,
                            #           published_at, deleted_at)], by publication time
    for event in world.events():    # exactly config.events plain dicts, in arrival order,
        ...                         # each exactly one line of the NDJSON ingest format
    await load_world(world, store)  # accounts/videos, then engagement through ingest,
                                    # then the deletions; returns the ingest totals

Everything is a function of the config: ``world.events()`` yields the same
dicts every time it is called. What the events contain (DESIGN.md, "Engagement
events"): views with Zipf-like video popularity and a boost after publication,
diurnal and weekly rhythm, traffic sources, search terms (with SEARCH, from the
video's topics), viewer attributes (some missing, some absent); likes and
unlikes, comments, shares (some with a channel), favorites, profile views;
follows and unfollows with churn (some redundant follows and unfollows, which do
not change the state), follower attributes and ``viaVideoId``. Some events are
late (``occurredAt`` days before their place in the stream, never before the
video's publication), some are re-delivered later with the same ``eventId``
(``duplicate_ratio``), some ``occurredAt`` carry a non-UTC offset. Videos with
``deleted_at`` only get events that occurred before it; :func:`load_world`
deletes them after the last event, so every generated event is valid. Expected
numbers are meant to be computed from these dicts, independently of the code
under test.

Useful facts for expected numbers: a re-delivery is a copy of the original dict
(same ``eventId``, same content); about 80% of events are views, 7% likes, 0.6%
unlikes, 1.5% comments, 1% shares, 1.4% favorites, 4.5% profile views, 3%
follows and 1% unfollows, spread over accounts by their videos' popularity (so
demographics, shown from 100 followers on, need roughly ``events >= 5_000 *
accounts``). ``config.end`` (default 2025-06-01) bounds every ``occurredAt``;
pass ``end=datetime.now(UTC)`` for data in the "last N days" presets.

The ids of accounts and videos are fixed by the seed (aggregates created with
``Aggregate._create(..., id=...)``); user ids are strings ``user-NNNNNN``.
:func:`aggregate_events` and :func:`deletion_events` give the aggregate rows
alone, :func:`write_ndjson` writes events for ``analytics-graph ingest``.
"""

from analytics_graph.simulation.loading import (
    LoadReport,
    SimulationError,
    aggregate_events,
    deletion_events,
    load_world,
    write_ndjson,
)
from analytics_graph.simulation.world import (
    SimAccount,
    SimulationConfig,
    SimVideo,
    World,
    generate_world,
)

__all__ = [
    "LoadReport",
    "SimAccount",
    "SimVideo",
    "SimulationConfig",
    "SimulationError",
    "World",
    "aggregate_events",
    "deletion_events",
    "generate_world",
    "load_world",
    "write_ndjson",
]
