"""Where reads run: streaming replicas of the primary, or the primary itself.

A hot standby replays the primary's WAL in commit order, so each replica shows
some earlier state of the one history, the read models' checkpoints included:
a replica whose live checkpoints are at or past a position holds every event
up to it and every read-model change that folded them. :class:`ReadPools`
keeps one pool per replica and picks, for each read, a healthy replica whose
checkpoints meet the read's :data:`Requirement` (waiting ``wait_seconds`` for
one to replay that far), else the primary. A replica that cannot be reached
(refused, shut down, connection lost) is left out for ``retry_seconds`` and
then tried again; meanwhile reads go to the primary.

Usage::

    async with ReadPools.opened(primary_pool, urls, names) as reads:
        answer = await reads.run({"engagement": 1234}, work)   # work(conn) -> answer
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import asyncpg

from analytics_graph.database import create_pool
from analytics_graph.types import Connection

log = logging.getLogger(__name__)
R = TypeVar("R")

Requirement = Mapping[str, int]
"""Projection name -> a position its live checkpoint must have reached (empty: any state)."""

LOST = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,  # ConnectionDoesNotExistError: the connection died mid-use
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)
"""Errors that mean "this server cannot be read now" (not "this query is wrong")."""

CHECKPOINTS_SQL = (
    "SELECT name, position FROM projection_checkpoints WHERE slot = 'live' AND name = ANY($1)"
)
LAST_POSITION_SQL = "SELECT coalesce(max(position), 0) FROM events"


class PositionNotReached(Exception):
    """No server's read models include the requirement within the time allowed."""

    def __init__(self, requirement: Requirement, beyond_log: bool) -> None:
        self.position = max(requirement.values(), default=0)
        self.beyond_log = beyond_log
        reason = (
            "is beyond the end of the log"
            if beyond_log
            else "is not yet in the read models; retry shortly"
        )
        super().__init__(f"position {self.position} {reason}")


@dataclass(slots=True)
class Replica:
    """One streaming replica: its pool and whether it is left out for now."""

    name: str
    pool: asyncpg.Pool
    down_until: float = 0.0


@dataclass(frozen=True, slots=True)
class Source:
    """Where one read runs: a replica, or the primary (``replica is None``)."""

    pool: asyncpg.Pool
    replica: Replica | None = None

    @property
    def name(self) -> str:
        return "primary" if self.replica is None else self.replica.name


def includes(found: Mapping[str, int], requirement: Requirement) -> bool:
    """Whether checkpoints ``found`` (name -> position) meet ``requirement``."""
    return all(found.get(name, -1) >= position for name, position in requirement.items())


async def checkpoints_of(conn: Connection, names: Sequence[str]) -> dict[str, int]:
    """The live checkpoints of ``names`` as this server sees them."""
    try:
        rows = await conn.fetch(CHECKPOINTS_SQL, list(names))
    except asyncpg.UndefinedTableError:  # no projection has ever run here
        return {}
    return {r["name"]: r["position"] for r in rows}


class ReadPools:
    """The primary's pool and one pool per replica; chooses where each read runs.

    ``names``: the projections a position requirement covers by default
    (:meth:`everything_at`). ``wait_seconds``: how long a read with a requirement
    waits for a replica to replay that far before it goes to the primary;
    ``primary_seconds``: how long it then waits for the primary's projections.
    """

    def __init__(
        self,
        primary: asyncpg.Pool,
        replicas: Sequence[Replica] = (),
        names: Sequence[str] = (),
        *,
        wait_seconds: float = 1.0,
        primary_seconds: float = 10.0,
        retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        acquire_timeout: float | None = None,
    ) -> None:
        self.primary = Source(primary)
        self.acquire_timeout = acquire_timeout
        """Longest wait for a pooled connection (then ``TimeoutError``: unavailable)."""
        self.replicas = list(replicas)
        self.names = tuple(names)
        self.wait_seconds = wait_seconds
        self.primary_seconds = primary_seconds
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._turn = itertools.count()

    @classmethod
    @contextlib.asynccontextmanager
    async def opened(
        cls,
        primary: asyncpg.Pool,
        urls: Sequence[str],
        names: Sequence[str],
        *,
        max_size: int = 10,
        connect_timeout: float = 2.0,
        acquire_timeout: float | None = None,
    ) -> AsyncIterator[ReadPools]:
        """Opens a pool per replica URL (connecting lazily: a replica may be away at
        start), and closes them on exit."""
        replicas = []
        try:
            for index, url in enumerate(urls, start=1):
                pool = await create_pool(
                    url, min_size=0, max_size=max_size, connect_timeout=connect_timeout
                )
                replicas.append(Replica(f"replica-{index}", pool))
            yield cls(primary, replicas, names, acquire_timeout=acquire_timeout)
        finally:
            for replica in replicas:
                await replica.pool.close()

    def everything_at(self, position: int) -> Requirement:
        """Every projection's live checkpoint at or past ``position``."""
        return dict.fromkeys(self.names, position) if position > 0 else {}

    def healthy(self) -> list[Replica]:
        """The replicas not left out, in turn (round robin across calls)."""
        now = self._clock()
        up = [r for r in self.replicas if r.down_until <= now]
        if len(up) < 2:
            return up
        start = next(self._turn) % len(up)
        return up[start:] + up[:start]

    def lost(self, source: Source, error: BaseException | None = None) -> None:
        """Leaves ``source``'s replica out for ``retry_seconds`` (the primary stays)."""
        if source.replica is not None:
            source.replica.down_until = self._clock() + self.retry_seconds
            log.warning("%s left out for %ss: %s", source.name, self.retry_seconds, error)

    async def run(
        self,
        requirement: Requirement,
        work: Callable[[Connection, Source], Awaitable[R]],
        *,
        failed: Callable[[R], bool] = lambda _: False,
        on: Source | None = None,
    ) -> R:
        """``work``'s result on a connection of a server whose read models meet
        ``requirement``: a replica if one does (within ``wait_seconds``), else the
        primary. If the replica is lost while ``work`` runs (it raised one of
        :data:`LOST`, or its result is ``failed`` and the connection is closed), the
        replica is left out and ``work`` runs again on the primary.

        ``on``: a source that met ``requirement`` before (a session's later reads stay
        where its first ran: another replica may be further behind).

        Raises :class:`PositionNotReached` when even the primary's read models do
        not meet ``requirement`` within ``primary_seconds``."""
        if on is not None and on.replica is not None and on.replica.down_until <= self._clock():
            replica: Replica | None = on.replica
        elif on is not None:
            replica, requirement = None, {}  # the primary has all a replica had
        else:
            replica = await self._replica_meeting(requirement)
        if replica is not None:
            source = Source(replica.pool, replica)
            try:
                async with replica.pool.acquire(timeout=self.acquire_timeout) as conn:
                    result = await work(conn, source)
                    if not (failed(result) and conn.is_closed()):
                        return result
                    self.lost(source, ConnectionError("connection lost during the read"))
            except LOST as error:
                self.lost(source, error)
        async with self.primary.pool.acquire(timeout=self.acquire_timeout) as conn:
            if requirement:
                await self._wait_on_primary(conn, requirement)
            return await work(conn, self.primary)

    async def _replica_meeting(self, requirement: Requirement) -> Replica | None:
        """A healthy replica meeting ``requirement``, waiting for one to replay that far;
        ``None`` when none does in time (or there are none)."""
        if not self.replicas:
            return None
        deadline, pause = self._clock() + self.wait_seconds, 0.002
        while True:
            for replica in self.healthy():
                if not requirement:
                    return replica
                try:
                    async with replica.pool.acquire(timeout=self.acquire_timeout) as conn:
                        found = await checkpoints_of(conn, list(requirement))
                except LOST as error:
                    self.lost(Source(replica.pool, replica), error)
                    continue
                if includes(found, requirement):
                    return replica
            if not self.healthy() or self._clock() >= deadline:
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def _wait_on_primary(self, conn: Connection, requirement: Requirement) -> None:
        deadline, pause = self._clock() + self.primary_seconds, 0.002
        while not includes(await checkpoints_of(conn, list(requirement)), requirement):
            if max(requirement.values()) > await conn.fetchval(LAST_POSITION_SQL):
                raise PositionNotReached(requirement, beyond_log=True)
            if self._clock() >= deadline:
                raise PositionNotReached(requirement, beyond_log=False)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
