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
from analytics_graph.webhooks import UrlPolicy

SAFE = UrlPolicy()


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
    webhook_policy: UrlPolicy = SAFE
    """Which webhook URLs are accepted (the setting ``webhooks_allow_private``)."""
    live_interval: float = 0.25
    """Shared metric subscriptions: at most one update per this many seconds."""
    live_send_timeout: float = 10.0
    """A subscriber's update not sent within this many seconds closes it (4429)."""
