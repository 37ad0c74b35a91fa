"""The eventsourcing library's own recorder, factory and application test cases,
run against our persistence module on real PostgreSQL, plus what the library
does not test: a notification that commits late behind a later one is not skipped.

Each test gets a fresh database (the event table refuses DELETE and TRUNCATE, so
isolation cannot come from emptying tables), made on the server of
``ANALYTICS_GRAPH_TEST_DATABASE_URL`` or on the embedded one (``server_url``).

Every inherited test runs, the library's performance tests included: they take
about 0.3 s each here (100 single-event inserts), and the concurrency ones
(10 writers with 2 readers, 4 writers, 2 racing 1,000-event appends, 100
threads contending for one aggregate) are what this suite is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar
from unittest import TestCase, mock
from uuid import UUID, uuid4

import asyncpg
import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    NotSupportedError,
    ProcessRecorder,
    StoredEvent,
    TrackingRecorder,
)
from eventsourcing.tests import application as application_cases
from eventsourcing.tests import persistence as recorder_cases
from eventsourcing.utils import Environment

from analytics_graph.eventstore import datastore as datastore_module
from analytics_graph.eventstore.datastore import Datastore
from analytics_graph.eventstore.persistence import (
    DATABASE_URL,
    EventLogFactory,
    LogAggregateRecorder,
    LogApplicationRecorder,
    LogProcessRecorder,
    LogSnapshotRecorder,
    LogTrackingRecorder,
)
from analytics_graph.eventstore.records import NewEvent

T = TypeVar("T")
MODULE = "analytics_graph.eventstore.persistence"


# ---------------------------------------------------------------- fresh databases, synchronously


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Runs ``coro`` on a throwaway loop (the test session's loop is left alone)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{base}/{name}" + (f"?{query}" if query else "")


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def create_database(server_url: str) -> tuple[str, str]:
    """Creates an empty database; returns its name and DSN."""
    name = f"ag_contract_{uuid.uuid4().hex[:12]}"
    run_sync(_admin(server_url, f'CREATE DATABASE "{name}"'))
    return name, with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    run_sync(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class FreshDatabase(TestCase):
    """Gives each test ``self.database_url``, a database of its own, dropped afterwards."""

    server_url: str
    database_url: str

    @pytest.fixture(autouse=True)
    def _server(self, server_url: str) -> None:
        self.server_url = server_url

    def setUp(self) -> None:
        self._database_name, self.database_url = create_database(self.server_url)
        super().setUp()

    def tearDown(self) -> None:
        try:
            super().tearDown()
        finally:
            gc.collect()  # applications left to the garbage collector close their pools
            drop_database(self.server_url, self._database_name)


class WithFactory(FreshDatabase):
    """A factory of our persistence module on the fresh database, closed after the test."""

    factory: EventLogFactory

    def setUp(self) -> None:
        super().setUp()
        self.factory = EventLogFactory({DATABASE_URL: self.database_url})

    def tearDown(self) -> None:
        try:
            self.factory.close()
        finally:
            super().tearDown()


# ---------------------------------------------------------------- the library's test cases


class TestAggregateRecorder(WithFactory, recorder_cases.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.factory.aggregate_recorder()


class TestSnapshotRecorder(WithFactory, recorder_cases.AggregateRecorderTestCase):
    """The snapshot recorder passes the library's aggregate recorder cases, and keeps
    its rows out of the log."""

    def create_recorder(self) -> AggregateRecorder:
        return self.factory.aggregate_recorder(purpose="snapshots")

    def test_snapshots_stay_out_of_the_log(self) -> None:
        recorder = self.create_recorder()
        recorder.insert_events([StoredEvent(uuid4(), 1, "topic", b"state")])
        assert self.factory.application_recorder().max_notification_id() is None


class TestExampleApplication(FreshDatabase, application_cases.ExampleApplicationTestCase):
    """The library's example application, with snapshotting enabled, on our module."""

    expected_factory_topic = f"{MODULE}:EventLogFactory"

    def setUp(self) -> None:
        super().setUp()
        self._restore = [
            _set_environ("PERSISTENCE_MODULE", MODULE),
            _set_environ(DATABASE_URL, self.database_url),
        ]

    def tearDown(self) -> None:
        for restore in self._restore:
            restore()
        super().tearDown()


class TestApplicationRecorder(
    WithFactory, recorder_cases.ApplicationRecorderTestCase[ApplicationRecorder]
):
    def create_recorder(self) -> ApplicationRecorder:
        return self.factory.application_recorder()

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestTrackingRecorder(WithFactory, recorder_cases.TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.factory.tracking_recorder()


class TestProcessRecorder(WithFactory, recorder_cases.ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()


class TestNonInterleavingNotificationIDs(
    WithFactory, recorder_cases.NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        return self.factory.application_recorder()


class TestInfrastructureFactory(
    FreshDatabase, recorder_cases.InfrastructureFactoryTestCase[EventLogFactory]
):
    class TrackingRecorderSubclass(LogTrackingRecorder):
        pass

    def setUp(self) -> None:
        # The library's setUp builds the factory from self.env: set it first.
        self._database_name, self.database_url = create_database(self.server_url)
        self.env = Environment(
            "TestCase", {"PERSISTENCE_MODULE": MODULE, DATABASE_URL: self.database_url}
        )
        recorder_cases.InfrastructureFactoryTestCase.setUp(self)

    def expected_factory_class(self) -> type[EventLogFactory]:
        return EventLogFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return LogAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return LogApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return LogTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return self.TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return LogProcessRecorder

    def test_snapshot_recorder_is_beside_the_log_and_other_purposes_are_refused(self) -> None:
        assert isinstance(self.factory.aggregate_recorder(purpose="snapshots"), LogSnapshotRecorder)
        with pytest.raises(NotSupportedError):
            self.factory.aggregate_recorder(purpose="other")

    def test_dsn_from_the_process_environment(self) -> None:
        env = {"PERSISTENCE_MODULE": MODULE}
        with _environ(DATABASE_URL, self.database_url):
            factory = InfrastructureFactory.construct(Environment(env=env))
        try:
            assert isinstance(factory, EventLogFactory)
            assert factory.application_recorder().max_notification_id() is None
        finally:
            factory.close()

    def test_missing_dsn_is_an_environment_error(self) -> None:
        with _environ(DATABASE_URL, None), pytest.raises(OSError, match=DATABASE_URL):
            EventLogFactory({"PERSISTENCE_MODULE": MODULE})


class TestApplication(FreshDatabase, application_cases.ApplicationTestCase):
    """``Application()`` reads PERSISTENCE_MODULE and the DSN from the process environment."""

    def setUp(self) -> None:
        super().setUp()
        self._restore = [
            _set_environ("PERSISTENCE_MODULE", MODULE),
            _set_environ(DATABASE_URL, self.database_url),
        ]

    def tearDown(self) -> None:
        for restore in self._restore:
            restore()
        super().tearDown()

    # The library checks that `log` warns (inside catch_warnings(record=True));
    # our pytest settings turn warnings into errors, so let this one through.
    @pytest.mark.filterwarnings("always:'log' is deprecated:DeprecationWarning")
    def test_application_log(self) -> None:
        super().test_application_log()


# ---------------------------------------------------------------- what the library does not test


class TestLateCommits(WithFactory):
    """An append that drew an earlier position but commits later is not skipped."""

    def setUp(self) -> None:
        super().setUp()
        self.recorder = self.factory.application_recorder()
        self.writer = Datastore(self.database_url, create_schema=False)

    def tearDown(self) -> None:
        self.writer.close()
        super().tearDown()

    def _hold_open_append(self, release: threading.Event) -> Any:
        """Appends one event in a transaction that commits only once ``release`` is set."""
        drawn = threading.Event()

        async def append() -> list[int]:
            store = self.writer.store
            async with store.pool.acquire() as conn, conn.transaction():
                event = NewEvent(str(uuid4()), "early", 1, state=b"early")
                positions = await store.append([event], conn=conn)
                drawn.set()
                await asyncio.to_thread(release.wait)
            return positions

        future = self.writer.submit(append())
        assert drawn.wait(timeout=10)
        return future

    def _insert_late(self) -> int:
        """Records one event the ordinary way; returns its position."""
        positions = self.recorder.insert_events([StoredEvent(uuid4(), 1, "late", b"late")])
        assert positions is not None
        (position,) = positions
        return position

    def test_select_notifications_waits_for_the_earlier_position(self) -> None:
        release = threading.Event()
        early = self._hold_open_append(release)
        later = self._insert_late()
        result: list[list[int]] = []
        reader = threading.Thread(
            target=lambda: result.append(
                [n.id for n in self.recorder.select_notifications(start=None, limit=10)]
            )
        )
        reader.start()
        time.sleep(0.3)
        assert reader.is_alive(), "the reader passed a position still in flight"
        release.set()
        reader.join(timeout=10)
        assert result == [[*early.result(), later]]
        assert self.recorder.max_notification_id() == later

    def test_subscription_delivers_in_position_order(self) -> None:
        release = threading.Event()
        with self.recorder.subscribe(gt=None) as subscription:
            early = self._hold_open_append(release)
            later = self._insert_late()
            threading.Timer(0.3, release.set).start()
            ids = [next(subscription).id, next(subscription).id]
        assert ids == [*early.result(), later]

    def test_subscription_wakes_on_a_commit(self) -> None:
        """Woken by LISTEN/NOTIFY: with the polling fallback an hour away (the listener is
        made on the first subscription), only the commit's notice can wake it."""
        topics: list[str] = []
        with (
            mock.patch.object(datastore_module, "POLL_INTERVAL", 3600.0),
            self.recorder.subscribe(gt=None) as subscription,
        ):
            time.sleep(0.2)  # caught up, waiting
            reader = threading.Thread(
                target=lambda: topics.append(next(subscription).topic), daemon=True
            )
            reader.start()
            self._insert_late()
            reader.join(timeout=60)  # a deadline against hanging, not a measurement
        assert topics == ["late"], "the subscription was not woken by the commit"

    def test_engagement_facts_are_not_notifications(self) -> None:
        fact = NewEvent(
            str(uuid4()), "view", event_id=uuid4(), data={"type": "view"}, occurred_at=None
        )
        self.writer.run(self.writer.store.append([fact]))
        position = self._insert_late()
        notifications = self.recorder.select_notifications(start=None, limit=10)
        assert [n.id for n in notifications] == [position]
        assert notifications[0].originator_version == 1
        assert isinstance(notifications[0].originator_id, UUID)


@contextlib.contextmanager
def _environ(key: str, value: str | None) -> Iterator[None]:
    """Sets (or, with None, removes) a process environment variable for the block."""
    restore = _set_environ(key, value)
    try:
        yield
    finally:
        restore()


def _set_environ(key: str, value: str | None) -> Callable[[], None]:
    """Sets (or removes) an environment variable; returns a function restoring it."""
    before = os.environ.get(key)

    def put(v: str | None) -> None:
        if v is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = v

    put(value)
    return lambda: put(before)


def test_module_holds_exactly_one_factory() -> None:
    factories = [
        v
        for v in vars(__import__(MODULE, fromlist=["_"])).values()
        if isinstance(v, type)
        and issubclass(v, InfrastructureFactory)
        and not getattr(v, "__parameters__", None)
    ]
    assert factories == [EventLogFactory]


class TestClose(FreshDatabase):
    def test_close_ends_even_with_a_connection_never_released(self) -> None:
        """asyncpg can lose a pool connection to a cancellation at the wrong moment of
        an acquire (a CI run hung in a contract test's tear-down); ``close`` then
        terminates the pool after its grace instead of waiting forever."""
        datastore = Datastore(self.database_url)

        async def acquire() -> asyncpg.pool.PoolConnectionProxy[Any]:
            return await datastore.store.pool.acquire()

        datastore.run(acquire())  # never released
        with mock.patch.object(datastore_module, "CLOSE_GRACE", 0.2):
            done = threading.Thread(target=datastore.close, daemon=True)
            done.start()
            done.join(30)
        assert not done.is_alive(), "close waited for a connection that never came back"
        assert datastore.store.pool.is_closing()
