"""The event store: an append-only, globally ordered log in PostgreSQL."""

from analytics_graph.eventstore.reader import LogCursor
from analytics_graph.eventstore.records import BulkResult, NewEvent, RecordedEvent
from analytics_graph.eventstore.store import EventStore, LogWindow

__all__ = ["BulkResult", "EventStore", "LogCursor", "LogWindow", "NewEvent", "RecordedEvent"]
