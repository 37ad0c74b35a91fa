"""Change notices: after each batch, which accounts and videos have new numbers.

The runner publishes a notice with ``pg_notify`` inside the batch's transaction,
so it is delivered exactly when (and only if) the batch commits, to listeners in
every process. Large id lists are split over several notifications (PostgreSQL
caps a payload at 8000 bytes); each part repeats the projection and position.

Consumers (GraphQL subscriptions) use a :class:`ChangeFeed`::

    async with ChangeFeed(url) as feed, feed.subscribe() as notices:
        async for notice in notices:
            if notice.everything or account_id in notice.accounts: ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import orjson

from analytics_graph.eventstore.notify import keep_listening
from analytics_graph.projection.projector import Changes
from analytics_graph.types import Connection

CHANNEL = "analytics_graph_changes"
MAX_PAYLOAD = 7_000
PUBLISH_SQL = (
    "SELECT pg_notify($1, part) FROM unnest($2::text[]) WITH ORDINALITY AS p(part, n) ORDER BY n"
)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """Projection ``projection`` has applied the log up to ``position``; the numbers of
    ``accounts`` and ``videos`` (canonical UUID text) changed. ``everything`` means any
    number may have changed (a rebuilt projection was swapped in, or notices may have
    been missed while the feed reconnected)."""

    projection: str
    position: int
    accounts: frozenset[str] = field(default_factory=frozenset)
    videos: frozenset[str] = field(default_factory=frozenset)
    everything: bool = False

    def encode(self) -> str:
        return orjson.dumps(
            {
                "p": self.projection,
                "n": self.position,
                "a": sorted(self.accounts),
                "v": sorted(self.videos),
                "e": self.everything,
            }
        ).decode()

    @classmethod
    def decode(cls, payload: str) -> ChangeNotice:
        data = orjson.loads(payload)
        return cls(data["p"], data["n"], frozenset(data["a"]), frozenset(data["v"]), data["e"])


def split(notice: ChangeNotice, limit: int = MAX_PAYLOAD) -> Iterator[ChangeNotice]:
    """The notice as parts whose encodings fit in ``limit`` bytes (at least one part)."""
    ids = [("a", a) for a in sorted(notice.accounts)] + [("v", v) for v in sorted(notice.videos)]
    per_part = max(1, (limit - 200) // 40)
    for start in range(0, max(len(ids), 1), per_part):
        part = ids[start : start + per_part]
        yield ChangeNotice(
            notice.projection,
            notice.position,
            frozenset(i for kind, i in part if kind == "a"),
            frozenset(i for kind, i in part if kind == "v"),
            notice.everything,
        )


async def publish(
    conn: Connection, projection: str, position: int, changes: Changes, *, everything: bool = False
) -> None:
    """Queues the notice on ``conn``'s transaction; PostgreSQL delivers it at commit.

    Its parts go in one statement, in order (a batch naming 1,000 accounts and their
    videos has 12): one round trip, so a worker whose process is busy (a round of
    shared subscriptions holding the event loop) waits for it once per batch, not
    once per part."""
    notice = ChangeNotice(
        projection, position, frozenset(changes.accounts), frozenset(changes.videos), everything
    )
    parts = [part.encode() for part in split(notice)]
    await conn.execute(PUBLISH_SQL, CHANNEL, parts)


class NoticeQueue:
    """One consumer's queue of notices; iterate it. When the consumer falls more than
    ``maxsize`` notices behind, older ones are dropped and an ``everything`` notice
    takes their place."""

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[ChangeNotice] = asyncio.Queue(maxsize)

    def put(self, notice: ChangeNotice) -> None:
        if self._queue.full():
            while not self._queue.empty():
                self._queue.get_nowait()
            notice = ChangeNotice(notice.projection, notice.position, everything=True)
        self._queue.put_nowait(notice)

    def __aiter__(self) -> NoticeQueue:
        return self

    async def __anext__(self) -> ChangeNotice:
        return await self._queue.get()


class ChangeFeed:
    """Listens for change notices on one connection and fans them out to subscribers."""

    def __init__(self, url: str, channel: str = CHANNEL, retry_interval: float = 1.0) -> None:
        self._url = url
        self._channel = channel
        self._retry_interval = retry_interval
        self._subscribers: set[NoticeQueue] = set()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    @contextlib.contextmanager
    def subscribe(self, maxsize: int = 10_000) -> Iterator[NoticeQueue]:
        """A subscription receiving every notice from now until the block exits."""
        subscription = NoticeQueue(maxsize)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open (one per shared subscription group)."""
        return len(self._subscribers)

    def _deliver(self, notice: ChangeNotice) -> None:
        for subscriber in list(self._subscribers):
            subscriber.put(notice)

    def _on_notify(self, _conn: Connection, _pid: int, _channel: str, payload: object) -> None:
        try:
            notice = ChangeNotice.decode(str(payload))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed change notice: %.200s", payload)
            return
        self._deliver(notice)

    def _on_connect(self, first: bool) -> None:
        if not first:  # notices may have been missed while away
            self._deliver(ChangeNotice("*", 0, everything=True))

    async def _run(self) -> None:
        await keep_listening(
            self._url,
            self._channel,
            self._on_notify,
            self.connected,
            on_connect=self._on_connect,
            retry_interval=self._retry_interval,
        )

    async def __aenter__(self) -> ChangeFeed:
        self._task = asyncio.create_task(self._run(), name="change-feed")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@contextlib.asynccontextmanager
async def change_feed(url: str) -> AsyncIterator[ChangeFeed]:
    """A started :class:`ChangeFeed` that is listening when the block starts."""
    async with ChangeFeed(url) as feed:
        async with asyncio.timeout(10):
            await feed.connected.wait()
        yield feed
