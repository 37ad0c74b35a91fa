"""What resolvers use beyond the read models: the use cases, ingest, the log, limits.

Built by the composition root (``bootstrap.open_system``); the API only receives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from analytics_graph.api.engine.limits import Limits
from analytics_graph.commands import Commands
from analytics_graph.config import Mode
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener
from analytics_graph.ingest import Ingestor
from analytics_graph.projection import ChangeFeed, Projection
from analytics_graph.replication import ReadPools


@dataclass(frozen=True, slots=True)
class Services:
    """The running system as the API sees it (built once, by ``open_system``)."""

    mode: Mode
    limits: Limits
    pool: asyncpg.Pool
    store: EventStore
    commands: Commands
    ingestor: Ingestor
    listener: Listener
    feed: ChangeFeed | None
    projections: Sequence[Projection]
    reads: ReadPools
    """Where queries read: a replica that has the state asked for, else the primary."""
