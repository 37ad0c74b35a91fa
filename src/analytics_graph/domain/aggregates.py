"""Accounts and videos, and the invariants they keep.

Events are named in the past tense and, once stored, are never renamed or
reshaped (add an upcaster instead): their topics are part of the log.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from analytics_graph.domain.vocabulary import AccountType
from analytics_graph.errors import InvalidInputError, NotProAccountError, VideoDeletedError

__all__ = [
    "Account",
    "AccountType",
    "HandleIndex",
    "NotProAccountError",
    "Video",
    "VideoDeletedError",
    "handle_index_id",
]


class Account(Aggregate):
    """A user's account. Pro accounts (CREATOR, BUSINESS) can read their analytics."""

    @event("Registered")
    def __init__(self, handle: str, display_name: str) -> None:
        self.handle = handle
        self.display_name = display_name
        self.account_type = AccountType.PERSONAL.value

    @property
    def is_pro(self) -> bool:
        return self.account_type != AccountType.PERSONAL.value

    def switch_to_pro(self, account_type: AccountType) -> None:
        """Makes the account Pro of the given type; switching between Pro types is allowed.

        Raises :class:`InvalidInputError` for PERSONAL; records nothing when the
        account already has that type.
        """
        if account_type is AccountType.PERSONAL:
            raise InvalidInputError("type", "a Pro account type is CREATOR or BUSINESS")
        if self.account_type != account_type.value:
            self._switched_to_pro(account_type.value)

    @event("SwitchedToProAccount")
    def _switched_to_pro(self, account_type: str) -> None:
        self.account_type = account_type

    def switch_to_personal(self) -> None:
        """Raises :class:`NotProAccountError` unless the account is Pro."""
        if not self.is_pro:
            raise NotProAccountError(f"account {self.id} is not a Pro account")
        self._switched_to_personal()

    @event("SwitchedToPersonalAccount")
    def _switched_to_personal(self) -> None:
        self.account_type = AccountType.PERSONAL.value


def handle_index_id(handle: str) -> UUID:
    """The id of the index aggregate that reserves a handle (case-insensitive)."""
    return uuid5(NAMESPACE_URL, f"/handles/{handle.casefold()}")


class HandleIndex(Aggregate):
    """Reserves a handle for one account: a second registration of the same handle
    collides on this aggregate's first version and so is refused atomically."""

    @staticmethod
    def create_id(handle: str) -> UUID:
        return handle_index_id(handle)

    @event("Reserved")
    def __init__(self, handle: str, account_id: UUID) -> None:
        self.handle = handle
        self.account_id = account_id


class Video(Aggregate):
    """A video of exactly one account, fixed at publication."""

    @event("Published")
    def __init__(
        self, account_id: UUID, caption: str, duration_seconds: float, published_at: datetime
    ) -> None:
        self.account_id = account_id
        self.caption = caption
        self.duration_seconds = duration_seconds
        self.published_at = published_at
        self.deleted = False

    def delete(self) -> None:
        """Raises :class:`VideoDeletedError` if already deleted."""
        if self.deleted:
            raise VideoDeletedError(f"video {self.id} is already deleted")
        self._deleted()

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
