"""The sealer: follows the log like a projection and seals it into the tree.

Each batch (the events that became final since the checkpoint, in log order)
commits in one transaction: the new tree nodes and leaf positions, a signed
head of the new size, and the checkpoint ``(position, tree_size)``, claimed at
its old value first. A crash at any point leaves all of it as it was, so no
leaf is ever missing or repeated. One sealer works at a time (a session
advisory lock); others stand by and take over when its connection dies.

Usage::

    async with Sealer(url, signer, listener):
        ...  # the log is sealed as it grows
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from analytics_graph.audit import tree
from analytics_graph.audit.heads import Signer, TreeHead
from analytics_graph.audit.leaves import leaf_hashes_sql
from analytics_graph.audit.tree import Tail
from analytics_graph.eventstore.notify import Listener
from analytics_graph.eventstore.reader import LogCursor
from analytics_graph.eventstore.snapshot import Horizon
from analytics_graph.eventstore.store import RANGE_SQL
from analytics_graph.projection.catchup import HOLE_RETRY
from analytics_graph.projection.connection import SESSION_SETTINGS, dedicated_connection
from analytics_graph.types import Connection

log = logging.getLogger(__name__)
LOCK_NAME = "analytics_graph.audit.sealer"
# The leaf hashes of a final range (its positions known final: no horizon needed).
PART_SQL = leaf_hashes_sql("position > $1 AND position <= $2")
SPLIT_AT = 10_000  # batches from this size on are hashed by all the readers at once
READERS = 2


class CheckpointMoved(Exception):
    """Another sealer advanced the checkpoint: reload and go on from there."""


@dataclass(frozen=True, slots=True)
class SealerOptions:
    """``batch_size``: most events per batch; ``poll_interval``: longest wait for new
    events without a wake-up; ``takeover_interval``: how often a standby tries the
    lock; ``retry_interval``: pause after a failure."""

    batch_size: int = 100_000
    poll_interval: float = 1.0
    takeover_interval: float = 1.0
    retry_interval: float = 1.0


class Readers:
    """The sealer's reading connections, opened as needed: one for batches as they
    come live, a second only once a batch is large (catching up), so a server that
    keeps up holds one. Closed on exit (terminated after a failure)."""

    def __init__(self, url: str, most: int = READERS) -> None:
        self._url = url
        self._most = most
        self._open: list[asyncpg.Connection] = []

    async def take(self, count: int) -> list[asyncpg.Connection]:
        while len(self._open) < min(count, self._most):
            self._open.append(await asyncpg.connect(self._url, server_settings=SESSION_SETTINGS))
        return self._open[:count]

    async def __aenter__(self) -> Readers:
        return self

    async def __aexit__(self, kind: object, *_: object) -> None:
        for conn in self._open:
            if kind is None:
                await conn.close(timeout=5)
            else:
                conn.terminate()
        self._open = []


async def read_leaves(
    readers: Readers, cursor: LogCursor, limit: int
) -> tuple[list[int], list[bytes]]:
    """The next final events' positions and leaf hashes, advancing ``cursor``
    (fewer than committed when a hole ahead may still fill in). PostgreSQL does the
    hashing; a large batch is hashed in parts on several connections at once (one
    core each). Must run outside an explicit transaction (``eventstore/snapshot.py``)."""
    (first,) = await readers.take(1)
    before = cursor.position
    rows = await first.fetch(RANGE_SQL, before, limit)
    found = [r["position"] for r in rows if r["position"] is not None]
    horizon = Horizon(rows[0]["xmin"], rows[0]["next_xid"])
    positions = found[: cursor.settle(found, horizon, rows[0]["max_position"])]
    if not positions:
        return [], []
    conns = await readers.take(READERS if len(positions) >= SPLIT_AT else 1)
    step = -(-len(positions) // len(conns))
    ends = [positions[min(i + step, len(positions)) - 1] for i in range(0, len(positions), step)]
    parts = await asyncio.gather(
        *(
            conn.fetch(PART_SQL, low, high)
            for conn, low, high in zip(conns, [before, *ends], ends, strict=False)
        )
    )
    leaves = [bytes(r["leaf"]) for part in parts for r in part]
    if len(leaves) != len(positions):
        raise RuntimeError(f"{len(positions)} final positions, {len(leaves)} leaves read")
    return positions, leaves


async def commit_batch(
    conn: Connection,
    tail: Tail,
    signer: Signer,
    after: int,
    positions: list[int],
    leaves: list[bytes],
) -> TreeHead:
    """Seals one batch in one transaction; returns its signed head. Raises
    :class:`CheckpointMoved` (having written nothing) when the checkpoint is not at
    ``(after, tail.size)``; ``tail`` is then unusable: load it again."""
    old_size = tail.size
    async with conn.transaction():
        # Safe without waiting for the WAL flush: a batch lost in a server crash loses its
        # checkpoint with it and is sealed again, to the same root (a head served before
        # the crash still verifies: roots are compared, not signing times).
        await conn.execute("SET LOCAL synchronous_commit = off")
        found = await tree.read_checkpoint(conn, lock=True)
        if found != (after, old_size):
            raise CheckpointMoved(f"the checkpoint is at {found}, not {(after, old_size)}")
        tail.builder.extend(leaves)
        await tree.save(conn, tail, old_size, positions)
        head = signer.sign(tail.size, tail.builder.root(), datetime.now(UTC))
        await tree.insert_head(conn, head)
        await conn.execute(
            "UPDATE audit_checkpoint SET position = $1, tree_size = $2", positions[-1], tail.size
        )
    return head


Idle = Callable[[int, bool], Awaitable[bool]]
"""Called when nothing new is final: ``(generation seen before the read, blocked)``;
waits for more and returns ``True``, or returns ``False`` to stop."""


async def seal_stream(
    readers: Readers,
    writer: Connection,
    tail: Tail,
    signer: Signer,
    position: int,
    *,
    batch_size: int,
    idle: Idle,
    generation: Callable[[], int] = lambda: 0,
    on_head: Callable[[int, TreeHead], None] | None = None,
) -> None:
    """Seals from ``position`` (the checkpoint, where ``tail`` stands) until ``idle``
    says stop. Reads the next batch on ``readers`` while committing the current one on
    ``writer``, so PostgreSQL hashes leaves while this process builds the tree."""
    cursor = LogCursor(position)

    async def read() -> tuple[int, list[int], list[bytes]]:
        seen = generation()
        return (seen, *await read_leaves(readers, cursor, batch_size))

    after, ahead = cursor.position, asyncio.ensure_future(read())
    try:
        while True:
            seen, positions, leaves = await ahead
            if not positions:
                if not await idle(seen, cursor.blocked):
                    return
                after, ahead = cursor.position, asyncio.ensure_future(read())
                continue
            this_after, after = after, cursor.position
            ahead = asyncio.ensure_future(read())
            head = await commit_batch(writer, tail, signer, this_after, positions, leaves)
            if on_head is not None:
                on_head(positions[-1], head)
    finally:
        if not ahead.done():
            ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ahead


async def catch_up(url: str, signer: Signer, batch_size: int = 100_000) -> int:
    """Seals every event final now (without the sealer lock: for tests, benchmarks and
    one-off runs; a running sealer's batch is refused by the checkpoint claim, or
    refuses ours). Returns the tree size reached."""

    async def idle(_: int, blocked: bool) -> bool:
        if blocked:
            await asyncio.sleep(HOLE_RETRY)
        return blocked

    async with Readers(url) as reading, dedicated_connection(url) as writer:
        position, size = await tree.read_checkpoint(writer)
        tail = await tree.load_tail(writer, size)
        await seal_stream(reading, writer, tail, signer, position, batch_size=batch_size, idle=idle)
        return tail.size


class Sealer:
    """Keeps the tree sealed up to the log's final position while this process
    holds the sealer lock; ``position``/``size`` say how far it got."""

    def __init__(
        self,
        url: str,
        signer: Signer,
        listener: Listener | None = None,
        options: SealerOptions | None = None,
    ) -> None:
        self._url = url
        self._signer = signer
        self._listener = listener
        self.options = options or SealerOptions()
        self.position = 0
        self.size = 0
        self.head: TreeHead | None = None
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Seals until cancelled; never raises otherwise (a failure starts over from
        the stored checkpoint after ``retry_interval``)."""
        while True:
            try:
                async with dedicated_connection(self._url) as conn:
                    await self._wait_for_lock(conn)
                    await self._follow(conn)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the sealer failed; restarting")
                await asyncio.sleep(self.options.retry_interval)

    async def _wait_for_lock(self, conn: Connection) -> None:
        sql = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
        while not await conn.fetchval(sql, LOCK_NAME):  # noqa: ASYNC110 - the server holds it
            await asyncio.sleep(self.options.takeover_interval)

    async def _follow(self, conn: Connection) -> None:
        async with Readers(self._url) as reading:
            while True:
                self.position, self.size = await tree.read_checkpoint(conn)
                tail = await tree.load_tail(conn, self.size)
                try:
                    await seal_stream(
                        reading,
                        conn,
                        tail,
                        self._signer,
                        self.position,
                        batch_size=self.options.batch_size,
                        idle=self._wait,
                        generation=self._generation,
                        on_head=self._sealed,
                    )
                except CheckpointMoved:
                    log.warning("the sealer's checkpoint moved under it; reloading")

    def _generation(self) -> int:
        return self._listener.generation if self._listener is not None else 0

    def _sealed(self, position: int, head: TreeHead) -> None:
        self.position, self.size, self.head = position, head.tree_size, head

    async def _wait(self, seen: int, blocked: bool) -> bool:
        pause = HOLE_RETRY if blocked else self.options.poll_interval
        if self._listener is None:
            await asyncio.sleep(pause)
        else:
            await self._listener.wait(seen, pause)
        return True

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="audit-sealer")

    async def stop(self) -> None:
        """Cancels the sealer; a batch in flight is rolled back, never half-sealed."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> Sealer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
