"""Reads that may run on a replica: a session for subscription updates and websocket
operations, statement by statement like ``PoolSession``, on one server chosen by
``ReadPools`` at its first statement (a replica that has the state asked for,
else the primary; the primary when the replica is lost meanwhile)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar, cast

from analytics_graph.api.reads.snapshots import Counted
from analytics_graph.replication import ReadPools, Requirement, Source
from analytics_graph.types import Connection

P = ParamSpec("P")
R = TypeVar("R")


class RoutedSession:
    """Runs each query on a connection of the server chosen for the session."""

    def __init__(self, reads: ReadPools, requirement: Requirement | None = None) -> None:
        self._reads = reads
        self._requirement = requirement or {}
        self.source: Source | None = None
        """Where the session's reads ran (after the first)."""
        self.statements = 0

    async def run(
        self,
        fn: Callable[Concatenate[Connection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        async def work(conn: Connection, source: Source) -> R:
            self.source = source
            counted = Counted(conn)
            try:
                return await fn(cast(Connection, counted), *args, **kwargs)
            finally:
                self.statements += counted.statements

        return await self._reads.run(self._requirement, work, on=self.source)
