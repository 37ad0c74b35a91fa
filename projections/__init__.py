"""The read models: one projection per module, each with its tables, version,
handled events and batch apply, plus a ``queries`` module the API reads through.

``ALL`` is what the runner runs; :func:`by_name` finds one for the CLI.
"""

from __future__ import annotations

from analytics_graph.projection import Projection
from projections import account_viewers, alerts, engagement, entities, followers, video_reach

ALL: tuple[Projection, ...] = (
    entities.PROJECTION,
    engagement.PROJECTION,
    video_reach.PROJECTION,
    followers.PROJECTION,
    account_viewers.PROJECTION,
    alerts.PROJECTION,
)


def by_name(name: str) -> Projection:
    """The projection called ``name``; raises ``KeyError`` naming the known ones."""
    for projection in ALL:
        if projection.name == name:
            return projection
    raise KeyError(f"no projection {name!r}; known: {', '.join(p.name for p in ALL)}")
