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


class HandleTakenError(DomainError):
    """Another account holds this handle (handles are unique regardless of case)."""

    def __init__(self, handle: str) -> None:
        super().__init__(f"the handle {handle!r} is taken")
        self.handle = handle


class NotFoundError(DomainError):
    """No such account or video (also what a malformed id, or one the caller may
    not see, answers: the message names the id only)."""

    def __init__(self, id: object) -> None:
        super().__init__(f"{id} was not found")
        self.id = id


class NotProAccountError(DomainError):
    """The account is not a Pro (creator or business) account."""


class VideoDeletedError(DomainError):
    """The video was deleted; it takes no further changes or engagement."""


class InvalidInputError(DomainError):
    """An input value is out of its allowed range; ``field`` is its GraphQL input name."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
