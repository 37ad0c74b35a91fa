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

Before counting, a reader tries the cheaper proof of ``reader.py``: it reads the
horizon (the transactions running, the largest position) and keeps it; once
every transaction running then has ended (seen at its next call), or at once when
none was running, the whole log up to that largest position is final, holes and
all, without reading a row. Counting costs about a microsecond a row, so a reader
more than :data:`COUNT_AT_MOST` positions behind (at its first call, or as its
last count showed) waits a moment for that proof instead (``blocked``), for at
most :data:`PATIENCE` seconds (a long transaction elsewhere on the server delays
the proof, not the count). A replay thus proves the log it catches up on in a few
statements. Near the end it counts: a proof always lags a call behind the newest
commits, and a count takes them at once.

Every range proven final is recorded on the store (``EventStore.learn_final``);
readers of the same store behind that mark (the other projections of a runner,
catching up side by side) take their next range up to it without a statement.
"""

from __future__ import annotations

import time

from analytics_graph.eventstore import EventStore, LogCursor
from analytics_graph.eventstore.reader import Proof, read_horizon

# The rows of the next `limit` positions. Bounded on both sides, so that no plan
# reads the whole log (ORDER BY ... LIMIT over a log not analysed yet, as after a
# bulk load, was planned as a sequential scan and a sort of every row, per batch).
RUN_SQL = """
SELECT count(*) AS n, max(position) AS last, (SELECT max(position) FROM events) AS top
FROM events WHERE position > $1 AND position <= $1 + $2
"""
COUNT_AT_MOST = 20_000
"""Positions behind the log's end up to which a reader counts rather than waits."""
PATIENCE = 0.5
"""Seconds a reader further behind waits for a proof before counting after all."""


class RangeReader:
    """Hands out consecutive final ranges ``(after, upto]`` of the log from ``position``."""

    def __init__(self, store: EventStore, position: int) -> None:
        self._store = store
        self._cursor = LogCursor(position)
        self._waiting = False
        self._behind = True
        """Far from the log's end at the last look (or not looked yet): prove first."""

    @property
    def position(self) -> int:
        """The end of the last range handed out (or the starting position)."""
        return self._cursor.position

    @property
    def blocked(self) -> bool:
        """A hole ahead may still fill in, or a proof is awaited: read again shortly."""
        return self._waiting or self._cursor.blocked

    async def next(self, limit: int) -> tuple[int, int] | None:
        """The next final range of at most ``limit`` events, or ``None`` when nothing
        new is final yet."""
        after, self._waiting = self._cursor.position, False
        if self._store.known_final <= after and self._behind:
            top = await self._prove()
            if top <= after:
                return None  # nothing visible after `after`: no hole to wait at either
            self._behind = top - after > COUNT_AT_MOST
            self._waiting = self._behind and self._store.known_final <= after and self._patient()
            if self._waiting:
                return None
        known = self._store.known_final
        if known > after:  # proven final (here or by another reader): at most `limit`
            upto = min(known, after + limit)
            self._cursor = LogCursor(upto)
            return after, upto
        row = await self._store.pool.fetchrow(RUN_SQL, after, limit)
        assert row is not None
        self._behind = (row["top"] or 0) - after > COUNT_AT_MOST
        if row["n"] and row["last"] - after == row["n"]:
            self._cursor = LogCursor(row["last"])
            self._store.learn_final(row["last"])
            return after, row["last"]
        if not row["n"] and (row["top"] or 0) <= after:
            return None  # nothing visible after `after`: no hole to wait at either
        span = await self._store.next_range(self._cursor, limit)
        if span is not None:
            self._store.learn_final(span[1])
        return span

    def _patient(self) -> bool:
        """Whether a proof is pending and young enough to wait for."""
        proof = self._store.proof
        return proof is not None and time.monotonic() - proof.since < PATIENCE

    async def _prove(self) -> int:
        """Reads the horizon; records on the store what it (or the proof the store
        keeps, from this reader's last call or another's) proves final. Returns the
        largest visible position."""
        horizon, top = await read_horizon(self._store.pool)
        store, proof = self._store, self._store.proof
        if proof is not None and proof.horizon.all_finished_by(horizon):
            store.learn_final(proof.position)
            store.proof = proof = None
        if horizon.quiet:
            store.learn_final(top)
        elif proof is None:
            store.proof = Proof(horizon, top, time.monotonic())
        return top
