"""Reading the log in global order without ever skipping a late commit.

Positions come from a sequence, so they are handed out in one order and
committed in another: a reader that has seen position 11 may not yet see 10,
whose transaction is still open. Skipping 10 would lose it for good.

The technique (chosen over a table lock around appends, which serialises all
writers; bench/ingest.py prints the cost of both):

* every append transaction takes its transaction id (``pg_current_xact_id()``)
  *before* it draws positions, and the sequence has no session cache;
* a reader fetches rows together with, from the same statement's snapshot, the
  largest visible position ``M``, the oldest running xid and the next xid to be
  assigned (``snapshot.py``);
* any position ``p <= M`` was drawn before the statement ran, by a transaction
  that already had its xid, so an xid below that next xid: that transaction
  either has ended (so ``p`` is visible now, or it never will be) or was running;
* so once every xid below that next xid has ended (a later statement's oldest
  running xid is at or above it), positions up to ``M`` are *final*: a hole
  below ``M`` is a rolled-back append and can be passed.

Readers pass contiguous positions at once and wait only at a hole, for at most
the duration of the appends that were in flight. Writers never wait for
readers or for each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from analytics_graph.eventstore.snapshot import HORIZON_SUBQUERY, Horizon
from analytics_graph.types import Connection

HORIZON_SQL = f"SELECT xmin, next_xid, max_position FROM {HORIZON_SUBQUERY} h"


@dataclass(frozen=True, slots=True)
class Proof:
    """A horizon read at ``since`` (monotonic seconds) and the largest visible position
    then: every position up to it is final once the transactions running then have
    all ended (``projection/ranges.py``)."""

    horizon: Horizon
    position: int
    since: float


@dataclass(slots=True)
class _Pending:
    horizon: Horizon
    max_position: int


class LogCursor:
    """A position in the log that only moves over positions that are final.

    Feed it the ascending positions a statement returned (all after
    :attr:`position`) with that statement's :class:`Horizon` and largest
    visible position; :meth:`settle` tells how many of them may be consumed and
    advances. While :attr:`blocked`, a hole lies ahead that may still fill in:
    read again shortly.
    """

    def __init__(self, position: int = 0) -> None:
        self.position = position
        self._final_upto = position
        self._pending: _Pending | None = None
        self.blocked = False

    def settle(self, positions: Sequence[int], horizon: Horizon, max_position: int | None) -> int:
        if self._pending is not None and self._pending.horizon.all_finished_by(horizon):
            self._final_upto = max(self._final_upto, self._pending.max_position)
            self._pending = None
        if horizon.quiet and max_position is not None:
            self._final_upto = max(self._final_upto, max_position)
        count = 0
        expected = self.position + 1
        for position in positions:
            if position != expected and position > self._final_upto:
                break
            count += 1
            expected = position + 1
        self.blocked = count < len(positions)
        if self.blocked and self._pending is None and max_position is not None:
            self._pending = _Pending(horizon, max_position)
        if count:
            self.position = positions[count - 1]
        return count


async def read_horizon(conn: Connection | asyncpg.Pool) -> tuple[Horizon, int]:
    """The current :class:`Horizon` and largest position (0 for an empty log)."""
    row = await conn.fetchrow(HORIZON_SQL)
    assert row is not None
    return Horizon(row["xmin"], row["next_xid"]), row["max_position"] or 0


async def wait_until_final(conn: Connection) -> int:
    """Returns a position ``H`` such that every position ``<= H`` is final.

    Reads the horizon and largest position, then waits until the transactions
    running at that moment have ended (polling, backing off to 20 ms). Must run
    outside an explicit transaction (see ``snapshot.py``).
    """
    first, position = await read_horizon(conn)
    delay = 0.0005
    while not first.quiet:
        now, _ = await read_horizon(conn)
        if first.all_finished_by(now):
            break
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.02)
    return position
