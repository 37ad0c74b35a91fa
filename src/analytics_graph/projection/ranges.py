"""Final ranges of the log for set-based projections, cheaply.

``EventStore.next_range`` fetches every position of the range to find holes
(positions of appends still in flight, or rolled back). For a projection that
replays millions of events, shipping each position to Python costs more than
applying it. But a range whose positions are *contiguous* has no hole, so
nothing can commit into it later: it is final as it stands. :class:`RangeReader`
asks PostgreSQL only for the count and the last position of the next ``limit``
rows; when they show a contiguous run it takes it, and otherwise (a hole ahead)
it defers to ``EventStore.next_range`` and its :class:`LogCursor`, which waits
for the hole to fill or to be proven final. So it never skips an event.

Every range proven final is recorded on the store (``EventStore.learn_final``);
readers of the same store behind that mark (the other projections of a runner,
catching up side by side) take their next range up to it without a statement.
"""

from __future__ import annotations

from analytics_graph.eventstore import EventStore, LogCursor

RUN_SQL = """
SELECT count(*) AS n, max(position) AS last
FROM (SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT $2) p
"""


class RangeReader:
    """Hands out consecutive final ranges ``(after, upto]`` of the log from ``position``."""

    def __init__(self, store: EventStore, position: int) -> None:
        self._store = store
        self._cursor = LogCursor(position)

    @property
    def position(self) -> int:
        """The end of the last range handed out (or the starting position)."""
        return self._cursor.position

    @property
    def blocked(self) -> bool:
        """A hole ahead may still fill in: read again shortly."""
        return self._cursor.blocked

    async def next(self, limit: int) -> tuple[int, int] | None:
        """The next final range of at most ``limit`` events, or ``None`` when nothing
        new is final yet."""
        after, known = self._cursor.position, self._store.known_final
        if known > after:  # proven final by another reader: at most `limit` positions
            upto = min(known, after + limit)
            self._cursor = LogCursor(upto)
            return after, upto
        row = await self._store.pool.fetchrow(RUN_SQL, after, limit)
        assert row is not None
        if not row["n"]:
            return None  # nothing visible after `after`: no hole to wait at either
        if row["last"] - after == row["n"]:
            self._cursor = LogCursor(row["last"])
            self._store.learn_final(row["last"])
            return after, row["last"]
        span = await self._store.next_range(self._cursor, limit)
        if span is not None:
            self._store.learn_final(span[1])
        return span
