"""What goes into the log and what comes out of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append.

    Aggregate events carry ``stream_version`` and ``state`` (the bytes the
    eventsourcing mapper made); engagement facts carry ``event_id`` and ``data``
    (JSON-ready) and no version. Exactly one of ``data`` and ``state`` is set.
    """

    stream_id: str
    type: str
    stream_version: int | None = None
    event_id: UUID | None = None
    occurred_at: datetime | None = None
    data: Any = None
    state: bytes | None = None


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored, with its position in the global log."""

    position: int
    stream_id: str
    stream_version: int | None
    type: str
    event_id: UUID | None
    occurred_at: datetime | None
    recorded_at: datetime
    data: Any
    state: bytes | None


@dataclass(frozen=True, slots=True)
class BulkResult:
    """Outcome of an idempotent bulk append."""

    accepted: int
    duplicates: int
    last_position: int | None = None
