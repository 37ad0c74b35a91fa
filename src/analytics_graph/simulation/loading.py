"""Writing a world into a store: aggregates, then engagement through ingest, then deletions.

Until the application service exists, accounts and videos are written the way
it will write them: domain aggregates, ``codec.encode_events`` and
``EventStore.append``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any, cast
from uuid import UUID

import orjson

from analytics_graph.domain.aggregates import Account, AccountType, HandleIndex, Video
from analytics_graph.errors import AnalyticsGraphError
from analytics_graph.eventstore.codec import encode_events
from analytics_graph.eventstore.records import NewEvent
from analytics_graph.eventstore.store import EventStore
from analytics_graph.ingest.service import Ingestor
from analytics_graph.simulation.world import SimVideo, World


class SimulationError(AnalyticsGraphError):
    """Ingest refused a generated event: a bug in the simulation or in the ingest."""


@dataclass(frozen=True, slots=True)
class LoadReport:
    events: int
    accepted: int
    duplicates: int


def _created(cls: type[Any], event_name: str, id: UUID, **kwargs: Any) -> Any:
    """An aggregate created with a chosen id (the library's ``_create``), for determinism."""
    return cls._create(getattr(cls, event_name), id=id, **kwargs)


def _published(video: SimVideo) -> Video:
    aggregate = _created(
        Video,
        "Published",
        video.id,
        account_id=video.account_id,
        caption=video.caption,
        duration_seconds=video.duration_seconds,
        published_at=video.published_at,
    )
    return cast(Video, aggregate)


def aggregate_events(world: World) -> list[NewEvent]:
    """Rows registering the accounts (handle reserved, Pro ones switched), publishing the videos."""
    pending: list[Any] = []
    for account in world.accounts:
        aggregate = cast(
            Account,
            _created(
                Account, "Registered", account.id,
                handle=account.handle, display_name=account.display_name,
            ),
        )  # fmt: skip
        if account.is_pro:
            aggregate.switch_to_pro(AccountType(account.account_type))
        index = HandleIndex(account.handle, account.id)
        pending.extend([*aggregate.collect_events(), *index.collect_events()])
    for video in world.videos:
        pending.extend(_published(video).collect_events())
    return encode_events(pending)


def deletion_events(world: World) -> list[NewEvent]:
    """Rows deleting the videos that have a ``deleted_at`` (version 2 of each video)."""
    pending: list[Any] = []
    for video in world.videos:
        if video.deleted_at is not None:
            aggregate = _published(video)
            aggregate.collect_events()
            aggregate.delete()
            pending.extend(aggregate.collect_events())
    return encode_events(pending)


async def load_world(
    world: World, store: EventStore, *, ingestor: Ingestor | None = None, batch_size: int = 10_000
) -> LoadReport:
    """Writes ``world`` into an empty ``store``; returns the ingest totals.

    Raises :class:`SimulationError` if ingest rejects a generated event.
    """
    await store.append(aggregate_events(world))
    ingestor = ingestor or Ingestor(store, max_batch=batch_size)
    accepted = duplicates = total = 0
    events = world.events()
    while batch := list(islice(events, batch_size)):
        outcome = await ingestor.ingest_events(batch)
        if outcome.rejections:
            first = outcome.rejections[0]
            raise SimulationError(f"ingest refused a generated event: {first.describe()}")
        total += len(batch)
        accepted += outcome.accepted
        duplicates += outcome.duplicates
    if deletions := deletion_events(world):
        await store.append(deletions)
    return LoadReport(total, accepted, duplicates)


def write_ndjson(events: Iterable[dict[str, Any]], stream: IO[bytes]) -> int:
    """Writes ``events`` one JSON object per line; returns how many."""
    count = 0
    for event in events:
        stream.write(orjson.dumps(event) + b"\n")
        count += 1
    return count
