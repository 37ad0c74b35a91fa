"""What resolvers use beyond the read models: the use cases, ingest, the log, limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from analytics_graph.commands import Commands
from analytics_graph.config import Mode
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener
from analytics_graph.ingest import Ingestor
from analytics_graph.projection import ChangeFeed, Projection
from analytics_graph.webhooks import UrlPolicy

SAFE = UrlPolicy()


@dataclass(frozen=True, slots=True)
class Limits:
    """Protection of the API: the most a request may ask for."""

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4_000
    max_fields: int = 600
    max_page_size: int = 100
    max_log_page: int = 1_000
    max_batch: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    read_your_writes_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class Services:
    """The running system as the API sees it (built once, in the app's lifespan)."""

    mode: Mode
    limits: Limits
    pool: asyncpg.Pool
    store: EventStore
    commands: Commands
    ingestor: Ingestor
    listener: Listener
    feed: ChangeFeed | None
    projections: Sequence[Projection]
    webhook_policy: UrlPolicy = SAFE
    live_interval: float = 0.25
    """Shared metric subscriptions: at most one update per this many seconds."""
    live_send_timeout: float = 10.0
    """A subscriber's update not sent within this many seconds closes it (4429)."""
    """Which webhook URLs are accepted (the setting ``webhooks_allow_private``)."""
