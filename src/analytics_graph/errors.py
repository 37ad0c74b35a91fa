"""The error tree: every error the package raises on purpose derives from
:class:`AnalyticsGraphError`; database errors are translated at the store's
boundary into the :class:`StoreError` branch."""

from __future__ import annotations


class AnalyticsGraphError(Exception):
    """Root of every error raised on purpose by analytics-graph."""


class ConfigurationError(AnalyticsGraphError):
    """The settings are unusable (bad value, unreachable database)."""


class StoreError(AnalyticsGraphError):
    """The event store failed; the append it was doing wrote nothing."""


class ConcurrencyError(StoreError):
    """An append expected a stream version that another writer already took.

    Nothing of the failed append was written; reload the stream and retry.
    """

    def __init__(self, stream_id: str, version: int) -> None:
        super().__init__(
            f"stream {stream_id!r}: version {version} was already written by another writer"
        )
        self.stream_id = stream_id
        self.version = version


class AppendOnlyViolation(StoreError):
    """Something tried to change or remove a stored event."""


class DomainError(AnalyticsGraphError):
    """A command broke an invariant of the domain; nothing was recorded."""
