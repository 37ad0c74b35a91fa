"""The event log as auditors read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from analytics_graph.api.types.inputs import plain
from analytics_graph.api.types.scalars import Position
from analytics_graph.eventstore.codec import decode_event, shared_mapper
from analytics_graph.eventstore.records import RecordedEvent

HIDDEN_ATTRIBUTES = frozenset({"originator_id", "originator_version"})


@strawberry.type(description="One event of the log.")
class LoggedEvent:
    position: Position = strawberry.field(description="Place in the global log, ascending.")
    stream_id: strawberry.ID = strawberry.field(
        description="The account or video the event is about (the aggregate's id)."
    )
    stream_version: int | None = strawberry.field(
        description="Version of an account or video aggregate; null for engagement facts."
    )
    type: str = strawberry.field(
        description="An engagement type (`view`, `follow`, ...) or an aggregate event's topic."
    )
    occurred_at: datetime | None
    recorded_at: datetime = strawberry.field(description="When the store accepted it.")
    data: JSON = strawberry.field(
        description="The event: the ingest format for engagement facts (docs/log-format.md), "
        "the aggregate event's attributes otherwise."
    )

    @classmethod
    def of(cls, event: RecordedEvent) -> LoggedEvent:
        data, occurred_at = event.data, event.occurred_at
        if event.state is not None:
            data, occurred_at = _aggregate_event(event)
        return cls(
            position=Position(event.position),
            stream_id=strawberry.ID(event.stream_id),
            stream_version=event.stream_version,
            type=event.type,
            occurred_at=occurred_at,
            recorded_at=event.recorded_at,
            data=data,
        )


@strawberry.type(description="A page of the ordered event log.")
class EventConnection:
    events: list[LoggedEvent]
    end_position: Position | None = strawberry.field(
        description="Position of the last event returned: pass it as `after` for the next page."
    )
    has_next_page: bool


def _aggregate_event(event: RecordedEvent) -> tuple[dict[str, Any], datetime | None]:
    domain_event = decode_event(event, shared_mapper())
    attributes = {
        name: plain(value)
        for name, value in vars(domain_event).items()
        if name not in HIDDEN_ATTRIBUTES
    }
    return attributes, getattr(domain_event, "timestamp", None)
