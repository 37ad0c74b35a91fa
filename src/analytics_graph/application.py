"""The use cases, as an eventsourcing ``Application`` recording into our event log.

Each method loads what it needs, lets the aggregates decide, and saves their
new events with the versions it loaded (optimistic concurrency): a change that
loses a race is reloaded and decided again, a few times. Expected failures
raise the :class:`~analytics_graph.errors.DomainError` branch
(``InvalidInputError`` naming the GraphQL input field, ``NotFoundError``,
``HandleTakenError``, ``NotProAccountError``, ``VideoDeletedError``); a store
failure raises :class:`~analytics_graph.errors.StoreError`
(``ConcurrencyError`` when other writers kept winning).

Usage::

    app = AnalyticsApplication(env={"ANALYTICS_GRAPH_DATABASE_URL": url})
    account = app.register_account("alice", "Alice")
    app.switch_to_pro(account.id, AccountType.CREATOR)
    video = app.publish_video(account.id, "hello", 12.5)
    app.close()
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Mapper, PersistenceError

from analytics_graph.domain.aggregates import Account, AccountType, HandleIndex, Video
from analytics_graph.errors import (
    ConcurrencyError,
    HandleTakenError,
    InvalidInputError,
    NotFoundError,
    StoreError,
)
from analytics_graph.eventstore.codec import default_mapper

PERSISTENCE_MODULE = "analytics_graph.eventstore.persistence"
HANDLE = re.compile(r"[A-Za-z0-9._]{1,30}")
MAX_DISPLAY_NAME = 64
MAX_CAPTION = 2200
MAX_DURATION_SECONDS = 36_000
FUTURE_SKEW = timedelta(minutes=5)
SAVE_ATTEMPTS = 5

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound=Aggregate)


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """The library's persistence errors, as our :class:`StoreError` branch."""
    try:
        yield
    except IntegrityError as exc:
        cause = exc.__cause__
        if isinstance(cause, ConcurrencyError):
            raise ConcurrencyError(cause.stream_id, cause.version) from exc
        raise StoreError(f"event store conflict: {exc}") from exc
    except PersistenceError as exc:
        raise StoreError(f"event store failure: {exc}") from exc


def _use_case(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        with _store_errors():
            return method(*args, **kwargs)

    return translated


class AnalyticsApplication(Application[UUID]):
    """Accounts and videos. Stores through ``PERSISTENCE_MODULE`` (ours by default)
    with the log's mapper, whatever the environment says about ciphers or codecs,
    so ``eventstore.codec.decode_event`` reads everything it writes."""

    env: ClassVar[dict[str, str]] = {"PERSISTENCE_MODULE": PERSISTENCE_MODULE}

    def construct_mapper(self) -> Mapper[UUID]:
        return default_mapper()

    @_use_case
    def register_account(self, handle: str, display_name: str) -> Account:
        """Registers a PERSONAL account, reserving its handle in the same append.

        Raises :class:`HandleTakenError` when an account holds the handle in any
        letter case, :class:`InvalidInputError` for a bad handle or display name.
        """
        account = Account(_valid_handle(handle), _valid_display_name(display_name))
        reservation = HandleIndex(handle, account.id)
        try:
            self.save(account, reservation)
        except IntegrityError as exc:
            if reservation.id in self.repository:
                raise HandleTakenError(handle) from exc
            raise
        return account

    @_use_case
    def switch_to_pro(self, account_id: UUID | str, account_type: AccountType | str) -> Account:
        """Makes the account CREATOR or BUSINESS (a no-op when it already is that type).

        Raises :class:`NotFoundError`, or :class:`InvalidInputError` for PERSONAL
        or an unknown type.
        """
        pro_type = _account_type(account_type)
        return self._change(account_id, Account, lambda account: account.switch_to_pro(pro_type))

    @_use_case
    def switch_to_personal(self, account_id: UUID | str) -> Account:
        """Makes a Pro account PERSONAL; raises :class:`NotProAccountError` if it is not Pro."""
        return self._change(account_id, Account, Account.switch_to_personal)

    @_use_case
    def publish_video(
        self,
        account_id: UUID | str,
        caption: str,
        duration_seconds: float,
        published_at: datetime | None = None,
    ) -> Video:
        """Publishes a video of an existing account, at ``published_at`` (default: now).

        A past ``published_at`` is accepted (imports, backfills); one more than
        five minutes ahead is not. Raises :class:`NotFoundError` for an unknown
        account, :class:`InvalidInputError` for a bad caption, duration or time.
        """
        owner = self.get_account(account_id)
        video = Video(
            owner.id,
            _valid_caption(caption),
            _valid_duration(duration_seconds),
            _valid_published_at(published_at, datetime.now(UTC)),
        )
        self.save(video)
        return video

    @_use_case
    def delete_video(self, video_id: UUID | str) -> Video:
        """Deletes a video; raises :class:`NotFoundError` or :class:`VideoDeletedError`."""
        return self._change(video_id, Video, Video.delete)

    @_use_case
    def get_account(self, account_id: UUID | str) -> Account:
        """The account; :class:`NotFoundError` for an unknown or malformed id."""
        return self._get(account_id, Account)

    @_use_case
    def get_video(self, video_id: UUID | str) -> Video:
        """The video (deleted ones too); :class:`NotFoundError` for an unknown or malformed id."""
        return self._get(video_id, Video)

    def _get(self, aggregate_id: UUID | str, kind: type[A]) -> A:
        try:
            aggregate: Any = self.repository.get(_uuid(aggregate_id))
        except AggregateNotFoundError:
            raise NotFoundError(aggregate_id) from None
        if not isinstance(aggregate, kind):
            raise NotFoundError(aggregate_id)
        return aggregate

    def _change(self, aggregate_id: UUID | str, kind: type[A], decide: Callable[[A], None]) -> A:
        """Loads, decides and saves; when another writer saved first, starts over."""
        for _ in range(SAVE_ATTEMPTS - 1):
            with contextlib.suppress(IntegrityError):
                return self._decide_and_save(aggregate_id, kind, decide)
        return self._decide_and_save(aggregate_id, kind, decide)

    def _decide_and_save(
        self, aggregate_id: UUID | str, kind: type[A], decide: Callable[[A], None]
    ) -> A:
        aggregate = self._get(aggregate_id, kind)
        decide(aggregate)
        self.save(aggregate)
        return aggregate


# ---------------------------------------------------------------- input rules


def _uuid(value: UUID | str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise NotFoundError(value) from None


def _valid_handle(handle: str) -> str:
    if not HANDLE.fullmatch(handle):
        raise InvalidInputError("handle", "1 to 30 characters: letters a-z, digits, '.', '_'")
    return handle


def _valid_display_name(name: str) -> str:
    if not name.strip() or len(name) > MAX_DISPLAY_NAME:
        raise InvalidInputError("displayName", f"1 to {MAX_DISPLAY_NAME} characters, not blank")
    return name


def _account_type(value: AccountType | str) -> AccountType:
    try:
        account_type = AccountType(value)
    except ValueError:
        raise InvalidInputError("type", f"unknown account type {value!r}") from None
    if account_type is AccountType.PERSONAL:
        raise InvalidInputError("type", "a Pro account type is CREATOR or BUSINESS")
    return account_type


def _valid_caption(caption: str) -> str:
    if len(caption) > MAX_CAPTION:
        raise InvalidInputError("caption", f"at most {MAX_CAPTION} characters")
    return caption


def _valid_duration(seconds: float) -> float:
    if isinstance(seconds, bool) or not math.isfinite(seconds):
        raise InvalidInputError("durationSeconds", "a finite number of seconds")
    if not 0 < seconds <= MAX_DURATION_SECONDS:
        raise InvalidInputError("durationSeconds", f"above 0 and at most {MAX_DURATION_SECONDS}")
    return float(seconds)


def _valid_published_at(published_at: datetime | None, now: datetime) -> datetime:
    if published_at is None:
        return now
    if published_at.utcoffset() is None:
        raise InvalidInputError("publishedAt", "a time with a UTC offset")
    if published_at > now + FUTURE_SKEW:
        raise InvalidInputError("publishedAt", "more than 5 minutes in the future")
    return published_at.astimezone(UTC)
