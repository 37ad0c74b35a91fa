"""The use cases of :class:`AnalyticsApplication`, on real PostgreSQL through our
persistence module, and what readers of the log see of them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar
from uuid import uuid4

import pytest

from analytics_graph.application import AnalyticsApplication
from analytics_graph.bootstrap import open_system
from analytics_graph.config import Settings
from analytics_graph.domain.aggregates import Account, AccountType, HandleIndex
from analytics_graph.errors import (
    DomainError,
    HandleTakenError,
    InvalidInputError,
    NotFoundError,
    NotProAccountError,
    VideoDeletedError,
)
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.codec import decode_event
from analytics_graph.eventstore.persistence import DATABASE_URL

T = TypeVar("T")
TOPIC = "analytics_graph.domain.aggregates:"


@pytest.fixture
def app(database_url: str) -> Iterator[AnalyticsApplication]:
    application = AnalyticsApplication(env={DATABASE_URL: database_url})
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def account(app: AnalyticsApplication) -> Account:
    return app.register_account("creator.one", "Creator One")


def invalid_field(call: Callable[[], object]) -> str:
    """Runs ``call``, expecting InvalidInputError; returns the field it names."""
    with pytest.raises(InvalidInputError) as caught:
        call()
    return caught.value.field


def run_together(count: int, call: Callable[[int], T]) -> list[T | Exception]:
    """Runs ``call(i)`` for ``i < count`` in as many threads, released at once."""
    barrier = threading.Barrier(count)

    def attempt(i: int) -> T | Exception:
        barrier.wait()
        try:
            return call(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(attempt, range(count)))


# ---------------------------------------------------------------- accounts


def test_register_account_records_a_personal_account(app: AnalyticsApplication) -> None:
    account = app.register_account("Alice_1.x", "Alice")
    loaded = app.get_account(account.id)
    assert (loaded.handle, loaded.display_name) == ("Alice_1.x", "Alice")
    assert loaded.account_type == AccountType.PERSONAL and not loaded.is_pro
    assert app.get_account(str(account.id)).id == account.id


def test_a_taken_handle_is_refused_in_any_case(app: AnalyticsApplication, account: Account) -> None:
    with pytest.raises(HandleTakenError) as caught:
        app.register_account("Creator.ONE", "Someone else")
    assert caught.value.handle == "Creator.ONE"
    # The loser wrote nothing: the log holds the first registration only.
    notifications = app.notification_log.select(start=1, limit=10)
    assert [n.topic.rsplit(":", 1)[1] for n in notifications] == [
        "Account.Registered",
        "HandleIndex.Reserved",
    ]


@pytest.mark.parametrize("handle", ["", "x" * 31, "bad-handle", "héllo", "a b", "tab\t"])
def test_bad_handles_are_refused(app: AnalyticsApplication, handle: str) -> None:
    assert invalid_field(lambda: app.register_account(handle, "Name")) == "handle"


def test_handle_limits_are_inclusive(app: AnalyticsApplication) -> None:
    assert app.register_account("x" * 30, "Name").handle == "x" * 30
    assert app.register_account("y", "N" * 64).display_name == "N" * 64


@pytest.mark.parametrize("name", ["", "   ", "N" * 65])
def test_bad_display_names_are_refused(app: AnalyticsApplication, name: str) -> None:
    assert invalid_field(lambda: app.register_account("fine", name)) == "displayName"


def test_concurrent_registrations_of_one_handle_have_one_winner(
    app: AnalyticsApplication,
) -> None:
    results = run_together(8, lambda i: app.register_account("Race" if i % 2 else "race", f"#{i}"))
    winners = [r for r in results if isinstance(r, Account)]
    losers = [r for r in results if isinstance(r, HandleTakenError)]
    assert len(winners) == 1 and len(losers) == 7, results
    index: object = app.repository.get(HandleIndex.create_id("RACE"))
    assert isinstance(index, HandleIndex) and index.account_id == winners[0].id


def test_switch_to_pro_and_back(app: AnalyticsApplication, account: Account) -> None:
    assert app.switch_to_pro(account.id, AccountType.CREATOR).is_pro
    assert app.switch_to_pro(account.id, "BUSINESS").account_type == AccountType.BUSINESS
    version = app.get_account(account.id).version
    app.switch_to_pro(account.id, AccountType.BUSINESS)  # already BUSINESS: records nothing
    assert app.get_account(account.id).version == version
    personal = app.switch_to_personal(account.id)
    assert not personal.is_pro and not app.get_account(account.id).is_pro


def test_switch_to_personal_requires_pro(app: AnalyticsApplication, account: Account) -> None:
    with pytest.raises(NotProAccountError):
        app.switch_to_personal(account.id)


@pytest.mark.parametrize("account_type", [AccountType.PERSONAL, "PERSONAL", "ADMIN", ""])
def test_switch_to_pro_refuses_other_types(
    app: AnalyticsApplication, account: Account, account_type: AccountType | str
) -> None:
    assert invalid_field(lambda: app.switch_to_pro(account.id, account_type)) == "type"


def test_concurrent_changes_of_one_account_all_land(
    app: AnalyticsApplication, account: Account
) -> None:
    # Each lost race means another caller's save landed, so with 4 callers none
    # loses more than 3 times: under the application's 5 attempts.
    types = [AccountType.CREATOR, AccountType.BUSINESS]
    results = run_together(4, lambda i: app.switch_to_pro(account.id, types[i % 2]))
    assert all(isinstance(r, Account) for r in results), results
    assert app.get_account(account.id).is_pro


# ---------------------------------------------------------------- videos


def test_publish_video_now(app: AnalyticsApplication, account: Account) -> None:
    before = datetime.now(UTC)
    video = app.publish_video(account.id, "first", 12.5)
    loaded = app.get_video(video.id)
    assert (loaded.account_id, loaded.caption, loaded.duration_seconds) == (
        account.id,
        "first",
        12.5,
    )
    assert before <= loaded.published_at <= datetime.now(UTC) and not loaded.deleted


def test_publish_video_accepts_the_past_and_a_small_skew(
    app: AnalyticsApplication, account: Account
) -> None:
    past = datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    video = app.publish_video(account.id, "backfill", 1, published_at=past)
    assert app.get_video(video.id).published_at == past
    assert app.get_video(video.id).published_at.utcoffset() == timedelta(0)
    soon = datetime.now(UTC) + timedelta(minutes=4)
    assert app.publish_video(account.id, "skewed clock", 1, published_at=soon).published_at == soon


@pytest.mark.parametrize(
    "published_at",
    # too late (taken when the test runs, not when it is collected); no offset
    [lambda: datetime.now(UTC) + timedelta(minutes=6), lambda: datetime(2020, 1, 1)],
)
def test_publish_video_refuses_bad_times(
    app: AnalyticsApplication, account: Account, published_at: Callable[[], datetime]
) -> None:
    when = published_at()
    publish = lambda: app.publish_video(account.id, "c", 1, published_at=when)  # noqa: E731
    assert invalid_field(publish) == "publishedAt"


@pytest.mark.parametrize("seconds", [0, -1, 36_000.5, float("nan"), float("inf"), True])
def test_publish_video_refuses_bad_durations(
    app: AnalyticsApplication, account: Account, seconds: float
) -> None:
    assert invalid_field(lambda: app.publish_video(account.id, "c", seconds)) == "durationSeconds"


def test_publish_video_limits_are_inclusive(app: AnalyticsApplication, account: Account) -> None:
    video = app.publish_video(account.id, "c" * 2200, 36_000)
    assert app.get_video(video.id).duration_seconds == 36_000.0
    assert invalid_field(lambda: app.publish_video(account.id, "c" * 2201, 1)) == "caption"


def test_publish_video_needs_an_existing_account(
    app: AnalyticsApplication, account: Account
) -> None:
    video = app.publish_video(account.id, "c", 1)
    for missing in (uuid4(), str(uuid4()), "not-a-uuid", video.id):
        with pytest.raises(NotFoundError) as caught:
            app.publish_video(missing, "c", 1)
        assert caught.value.id == missing


def test_delete_video(app: AnalyticsApplication, account: Account) -> None:
    video = app.publish_video(account.id, "c", 1)
    assert app.delete_video(str(video.id)).deleted
    assert app.get_video(video.id).deleted
    with pytest.raises(VideoDeletedError):
        app.delete_video(video.id)


@pytest.mark.parametrize("method", ["get_account", "get_video", "delete_video"])
def test_unknown_and_malformed_ids_are_not_found(
    app: AnalyticsApplication, account: Account, method: str
) -> None:
    call: Callable[[Any], object] = getattr(app, method)
    wrong_kind = account.id if method != "get_account" else HandleIndex.create_id("creator.one")
    for missing in (uuid4(), "nope", "", wrong_kind):
        with pytest.raises(NotFoundError):
            call(missing)


def test_expected_failures_are_domain_errors() -> None:
    for error in (HandleTakenError, NotFoundError, InvalidInputError):
        assert issubclass(error, DomainError)
    assert issubclass(NotProAccountError, DomainError)
    assert issubclass(VideoDeletedError, DomainError)


# ---------------------------------------------------------------- what readers of the log see


async def test_log_readers_see_and_decode_the_application_events(
    app: AnalyticsApplication, store: EventStore
) -> None:
    account = await asyncio.to_thread(app.register_account, "reader.test", "Reader")
    video = await asyncio.to_thread(app.publish_video, account.id, "seen", 3.0)
    events = await store.read_log()
    assert [e.type.removeprefix(TOPIC) for e in events] == [
        "Account.Registered",
        "HandleIndex.Reserved",
        "Video.Published",
    ]
    assert events[0].stream_id == str(account.id) and events[0].stream_version == 1
    published = decode_event(events[2])
    assert (published.originator_id, published.account_id) == (video.id, account.id)
    assert published.published_at == video.published_at
    video_events = await store.read_log(types=[TOPIC + "Video.Published"])
    assert [e.stream_id for e in video_events] == [str(video.id)]


def test_the_log_mapper_is_used_whatever_the_environment(database_url: str) -> None:
    env = {
        DATABASE_URL: database_url,
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        "CIPHER_TOPIC": "eventsourcing.cipher:AESCipher",
    }
    with AnalyticsApplication(env=env) as app:
        account = app.register_account("plain", "Plain")
        (notification, _) = app.notification_log.select(start=1, limit=10)
    assert notification.state.startswith(b"{")
    assert notification.originator_id == account.id


async def test_open_system_wires_the_commands(database_url: str) -> None:
    async with open_system(Settings(database_url=database_url)) as system:
        account = await system.commands.register_account("wired", "Wired")
        await system.commands.switch_to_pro(account.id, AccountType.CREATOR)
        video = await system.commands.publish_video(account.id, "c", 2)
        await system.commands.delete_video(video.id)
        assert (await system.commands.get_account(account.id)).is_pro
        assert (await system.commands.get_video(video.id)).deleted
        await system.commands.switch_to_personal(account.id)
        with pytest.raises(HandleTakenError):
            await system.commands.register_account("WIRED", "Again")
        events = await system.store.read_log(stream_id=str(account.id))
    assert [e.stream_version for e in events] == [1, 2, 3]
