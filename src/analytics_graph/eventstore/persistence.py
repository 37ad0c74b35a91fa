"""An eventsourcing persistence module over our event store.

``PERSISTENCE_MODULE=analytics_graph.eventstore.persistence`` makes an
``eventsourcing`` application record its events in the ``events`` table through
:class:`~analytics_graph.eventstore.store.EventStore`, and follow processes in
the ``tracking`` table. The DSN is ``ANALYTICS_GRAPH_DATABASE_URL`` from the
application's environment or else from the process environment. The schema is
migrated on first use unless ``CREATE_TABLE`` is false. ``ORIGINATOR_ID_TYPE``
is ``uuid`` (default: ids are UUIDs, stored as canonical text and returned as
``UUID``) or ``text`` (returned as ``str``).

What the library's recorder contract gets from us:

* ``insert_events`` appends through ``EventStore.append`` in one transaction
  (with the tracking row, for a process recorder); a taken stream version or
  an out-of-order tracking id raises ``IntegrityError``, and nothing is written.
  One append's positions are contiguous (a session advisory lock is held around
  the INSERT statement only, not until commit, so commits still overlap).
* notifications are the log's aggregate events (rows with a version and a
  state), ids are log positions. Engagement facts are not notifications, so ids
  may have gaps. ``select_notifications``, ``max_notification_id`` and
  subscriptions only return *final* positions (``reader.wait_until_final``): an
  append that drew an earlier position and commits late is never passed over.
* a subscription wakes on LISTEN/NOTIFY (``notify.CHANNEL``) and reads every
  :data:`~analytics_graph.eventstore.datastore.POLL_INTERVAL` seconds anyway.
* snapshots (``aggregate_recorder(purpose="snapshots")``) are stored beside the
  log, in the ``snapshots`` table (``snapshots.py``): never in the log, never
  sealed; a taken ``(originator, version)`` raises ``IntegrityError``. Other
  purposes raise ``NotSupportedError``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, TypeVar, cast
from uuid import UUID

import asyncpg
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    DatabaseError,
    DataError,
    InfrastructureFactory,
    IntegrityError,
    InterfaceError,
    InternalError,
    ListenNotifySubscription,
    Notification,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProcessRecorder,
    ProgrammingError,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool

from analytics_graph.errors import ConcurrencyError, StoreError
from analytics_graph.eventstore import recording, snapshots
from analytics_graph.eventstore.datastore import Datastore
from analytics_graph.eventstore.records import NewEvent

T = TypeVar("T")

DATABASE_URL = "ANALYTICS_GRAPH_DATABASE_URL"
# PostgreSQL error classes (the SQLSTATE's first two characters) -> the library's errors.
_BY_SQLSTATE_CLASS: dict[str, type[DatabaseError]] = {
    "08": OperationalError,  # connection exception
    "0A": NotSupportedError,
    "22": DataError,
    "23": IntegrityError,
    "25": InternalError,  # invalid transaction state
    "40": OperationalError,  # serialization failure, deadlock
    "42": ProgrammingError,  # syntax error, undefined table, ...
    "53": OperationalError,  # insufficient resources
    "57": OperationalError,  # operator intervention (shutdown, cancel)
    "58": OperationalError,  # system error
    "XX": InternalError,
}


def _persistence_error(exc: BaseException) -> PersistenceError:
    cause = exc.__cause__ if isinstance(exc, StoreError) and exc.__cause__ else exc
    if isinstance(cause, asyncpg.PostgresError):
        sqlstate = str(getattr(cause, "sqlstate", "") or "")
        return _BY_SQLSTATE_CLASS.get(sqlstate[:2], DatabaseError)(str(cause))
    if isinstance(cause, asyncpg.InterfaceError):
        return InterfaceError(str(cause))
    return OperationalError(str(exc))


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Raises the library's ``PersistenceError`` branch for our store's and asyncpg's errors."""
    try:
        yield
    except ConcurrencyError as exc:
        raise IntegrityError(str(exc)) from exc
    except (StoreError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise _persistence_error(exc) from exc


# ---------------------------------------------------------------- recorders


class _LogRecorder:
    """What every recorder here shares: the datastore, id conversion, error translation."""

    def __init__(self, datastore: Datastore, *, originator_id_type: str = "uuid") -> None:
        if originator_id_type not in ("uuid", "text"):
            raise ValueError(f"ORIGINATOR_ID_TYPE is 'uuid' or 'text', not {originator_id_type!r}")
        self.datastore = datastore
        self.originator_id_type = originator_id_type

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        with translated_errors():
            return self.datastore.run(coro)

    def _stream_id(self, originator_id: UUID | str) -> str:
        if self.originator_id_type == "text":
            return str(originator_id)
        try:
            return str(originator_id if isinstance(originator_id, UUID) else UUID(originator_id))
        except ValueError:
            raise DataError(f"originator id {originator_id!r} is not a UUID") from None

    def _originator_id(self, stream_id: str) -> UUID | str:
        if self.originator_id_type == "text":
            return stream_id
        try:
            return UUID(stream_id)
        except ValueError:
            return stream_id

    def _new_events(self, stored_events: Sequence[StoredEvent]) -> list[NewEvent]:
        return [
            NewEvent(
                stream_id=self._stream_id(e.originator_id),
                stream_version=e.originator_version,
                type=e.topic,
                state=e.state,
            )
            for e in stored_events
        ]

    def _tracking(self, kwargs: dict[str, Any]) -> Tracking | None:
        return None

    def _insert(self, stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> list[int]:
        tracking = self._tracking(kwargs)
        if not stored_events and tracking is None:
            return []
        store = self.datastore.store
        return self._run(recording.record(store, self._new_events(stored_events), tracking))


class LogAggregateRecorder(_LogRecorder, AggregateRecorder):
    """Aggregate events in the ``events`` table, one stream per originator id."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """Appends atomically; ``IntegrityError`` when a version is taken (nothing written)."""
        self._insert(stored_events, kwargs)

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The stream's events with ``gt < version <= lte``, by version."""
        stream_id = self._stream_id(originator_id)
        rows = self._run(
            self.datastore.store.read_stream(
                stream_id, after_version=gt, upto_version=lte, desc=desc, limit=limit
            )
        )
        return [
            StoredEvent(
                originator_id=self._originator_id(r.stream_id),
                originator_version=cast(int, r.stream_version),
                topic=r.type,
                state=r.state,
            )
            for r in rows
            if r.state is not None
        ]


class LogSnapshotRecorder(_LogRecorder, AggregateRecorder):
    """Snapshots in the ``snapshots`` table beside the log, one per originator version."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """Stores atomically; ``IntegrityError`` when a version is taken (nothing stored)."""
        rows = [
            snapshots.Snapshot(
                self._stream_id(e.originator_id), e.originator_version, e.topic, e.state
            )
            for e in stored_events
        ]
        self._run(snapshots.insert(self.datastore.store.pool, rows))

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The originator's snapshots with ``gt < version <= lte``, by version."""
        found = self._run(
            snapshots.select(
                self.datastore.store.pool,
                self._stream_id(originator_id),
                after_version=gt,
                upto_version=lte,
                desc=desc,
                limit=limit,
            )
        )
        return [
            StoredEvent(
                originator_id=self._originator_id(s.stream_id),
                originator_version=s.stream_version,
                topic=s.topic,
                state=s.state,
            )
            for s in found
        ]


class LogApplicationRecorder(LogAggregateRecorder, ApplicationRecorder):
    """Also presents the log's aggregate events as notifications, by position."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:  # type: ignore[override]
        """Appends atomically; returns the events' (contiguous) positions."""
        return self._insert(stored_events, kwargs)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """Up to ``limit`` notifications from ``start`` (exclusive unless inclusive_of_start)
        to ``stop``, of the given topics; only final positions, so paging never skips."""
        after = 0 if start is None else (start - 1 if inclusive_of_start else start)
        store = self.datastore.store
        rows = self._run(
            recording.select_notifications(store, after, stop, list(topics) or None, limit)
        )
        return [
            Notification(
                id=r["position"],
                originator_id=self._originator_id(r["stream_id"]),
                originator_version=r["stream_version"],
                topic=r["type"],
                state=r["state"],
            )
            for r in rows
        ]

    def max_notification_id(self) -> int | None:
        """The largest final notification id, or None when there is none."""
        return self._run(recording.max_notification_id(self.datastore.store))

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        """Notifications after ``gt``: those recorded, then new ones as they commit."""
        return LogSubscription(self, gt=gt, topics=topics)


class LogSubscription(ListenNotifySubscription[LogApplicationRecorder]):
    """Catches up, then reads again on every wake-up of the datastore's listener,
    which also fires every ``POLL_INTERVAL`` seconds when no notification came."""

    def __init__(
        self, recorder: LogApplicationRecorder, gt: int | None = None, topics: Sequence[str] = ()
    ) -> None:
        self._watcher: concurrent.futures.Future[None] | None = None
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        try:
            with translated_errors():
                self._watcher = recorder.datastore.submit(self._watch(recorder.datastore))
        except BaseException:
            self.stop()
            raise
        if self._has_been_stopped:
            self._watcher.cancel()

    async def _watch(self, datastore: Datastore) -> None:
        listener = await datastore.listener()
        while True:
            seen = listener.generation
            self._has_been_notified.set()  # the puller reads everything up to now
            await listener.wait(seen)

    def stop(self) -> None:
        """Stops the subscription and its watcher."""
        super().stop()
        if self._watcher is not None:
            self._watcher.cancel()


class LogTrackingRecorder(_LogRecorder, TrackingRecorder):
    """Positions of followers in the ``tracking`` table; ids only ever increase."""

    def insert_tracking(self, tracking: Tracking) -> None:
        """Records ``tracking``; ``IntegrityError`` unless above the largest recorded."""
        self._run(recording.record(self.datastore.store, [], tracking))

    def max_tracking_id(self, application_name: str) -> int | None:
        """The largest tracked notification id of that application, or None."""
        return self._run(recording.max_tracking_id(self.datastore.store, application_name))


class LogProcessRecorder(LogTrackingRecorder, LogApplicationRecorder, ProcessRecorder):
    """Records events and the ``tracking=`` keyword's position in one transaction."""

    def _tracking(self, kwargs: dict[str, Any]) -> Tracking | None:
        tracking = kwargs.get("tracking")
        return tracking if isinstance(tracking, Tracking) else None


# ---------------------------------------------------------------- the factory


class EventLogFactory(InfrastructureFactory[LogTrackingRecorder]):
    """Builds the recorders above over one lazily started :class:`Datastore`.

    Raises ``EnvironmentError`` at construction when no DSN is configured.
    :meth:`close` closes the datastore (its pool, its thread).
    """

    CREATE_TABLE = "CREATE_TABLE"
    ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        # The one read of os.environ outside config.py: the library's contract is env-based.
        url = self.env.get(DATABASE_URL) or os.environ.get(DATABASE_URL)
        if not url:
            raise OSError(
                f"{DATABASE_URL} is set in neither the application's nor the process's env"
            )
        self.url = url
        self._datastore: Datastore | None = None
        self._datastore_lock = threading.Lock()

    @property
    def datastore(self) -> Datastore:
        """The datastore, connected (and the schema migrated) on first use."""
        with self._datastore_lock:
            if self._datastore is None:
                create = strtobool(self.env.get(self.CREATE_TABLE) or "yes")
                with translated_errors():
                    self._datastore = Datastore(self.url, create_schema=create)
            return self._datastore

    def _options(self) -> dict[str, Any]:
        return {"originator_id_type": self.env.get(self.ORIGINATOR_ID_TYPE) or "uuid"}

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose == "snapshots":
            return LogSnapshotRecorder(self.datastore, **self._options())
        if purpose != "events":
            raise NotSupportedError(f"no {purpose!r} recorder: events and snapshots only")
        return LogAggregateRecorder(self.datastore, **self._options())

    def application_recorder(self) -> ApplicationRecorder:
        cls = self._recorder_class(self.APPLICATION_RECORDER_TOPIC, LogApplicationRecorder)
        return cls(self.datastore, **self._options())

    def tracking_recorder(
        self, tracking_recorder_class: type[LogTrackingRecorder] | None = None
    ) -> LogTrackingRecorder:
        cls = tracking_recorder_class or self._recorder_class(
            self.TRACKING_RECORDER_TOPIC, LogTrackingRecorder
        )
        return cls(self.datastore, **self._options())

    def process_recorder(self) -> ProcessRecorder:
        cls = self._recorder_class(self.PROCESS_RECORDER_TOPIC, LogProcessRecorder)
        return cls(self.datastore, **self._options())

    def _recorder_class(self, topic_key: str, default: type[T]) -> type[T]:
        topic = self.env.get(topic_key)
        cls = resolve_topic(topic) if topic else default
        if not (isinstance(cls, type) and issubclass(cls, default)):
            raise ProgrammingError(f"{topic_key}={topic!r} is not a {default.__name__}")
        return cls

    def close(self) -> None:
        """Closes the datastore, if one was started; the factory can start a new one later."""
        with self._datastore_lock:
            datastore, self._datastore = self._datastore, None
        if datastore is not None:
            datastore.close()
