"""How aggregate events of the eventsourcing library sit in our log.

A library ``StoredEvent`` becomes a row with ``stream_id = str(originator_id)``,
``stream_version = originator_version``, ``type = topic`` and ``state`` = the
mapper's bytes. The mapper here is the one an ``eventsourcing`` Application
builds by default (JSON transcoder with UUID, Decimal and datetime
transcodings, no cipher, no compressor), so anything written by the
application can be decoded here, and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from analytics_graph.eventstore.records import NewEvent, RecordedEvent


@cache
def shared_mapper() -> Mapper[UUID]:
    """One :func:`default_mapper` for the process (mappers keep no state between calls)."""
    return default_mapper()


def default_mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def to_new_event(stored: StoredEvent) -> NewEvent:
    return NewEvent(
        stream_id=str(stored.originator_id),
        stream_version=stored.originator_version,
        type=stored.topic,
        state=stored.state,
    )


def to_stored_event(recorded: RecordedEvent) -> StoredEvent:
    assert recorded.state is not None and recorded.stream_version is not None
    return StoredEvent(
        originator_id=recorded.stream_id,
        originator_version=recorded.stream_version,
        topic=recorded.type,
        state=recorded.state,
    )


def encode_events(
    events: Iterable[CanMutateAggregate[UUID]], mapper: Mapper[UUID] | None = None
) -> list[NewEvent]:
    """Aggregate events (``aggregate.collect_events()``) as rows to append."""
    mapper = mapper or default_mapper()
    return [to_new_event(mapper.to_stored_event(e)) for e in events]


def decode_event(recorded: RecordedEvent, mapper: Mapper[UUID] | None = None) -> Any:
    """The library's domain event object for a stored aggregate event."""
    return (mapper or default_mapper()).to_domain_event(to_stored_event(recorded))
