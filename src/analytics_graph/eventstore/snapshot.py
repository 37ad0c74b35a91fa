"""Which transactions a statement's snapshot could still see running.

``pg_current_snapshot()`` lists in-flight transactions in ``xip`` only below its
``xmax``, and since PostgreSQL 14 ``xmax`` is *latest completed xid + 1*, not the
next xid to be assigned: a transaction that took its xid earlier can be running
and appear nowhere in the snapshot. So we read the next xid too, through
``age()``, which measures against the next xid when the caller has none
(``GetStableLatestTransactionId``). It is read while the statement runs, after
its snapshot was taken: never too small, which is the safe side.

That value is only right in a statement that runs in its own transaction
(autocommit): inside a longer transaction ``age()`` keeps the value of its
first call. Readers of the log therefore run these statements outside any
explicit transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

# A subquery yielding xmin, next_xid (both 64-bit, with epoch) and the largest
# visible position, all of one statement's snapshot. `b` is the low 32 bits of
# xmax, kept off the special xids 0-2 for which age() answers INT_MAX.
HORIZON_SUBQUERY = """
(SELECT pg_snapshot_xmin(s)::text::bigint AS xmin,
        pg_snapshot_xmax(s)::text::bigint
          - (pg_snapshot_xmax(s)::text::bigint % 4294967296) + b + age(b::text::xid) AS next_xid,
        (SELECT max(position) FROM events) AS max_position
 FROM (SELECT pg_current_snapshot() AS s) snap,
      LATERAL (SELECT greatest(pg_snapshot_xmax(s)::text::bigint % 4294967296, 3) AS b) low)
"""


@dataclass(frozen=True, slots=True)
class Horizon:
    """What one statement knew about transactions: the oldest still running
    (``xmin``) and the next xid to be handed out (``next_xid``)."""

    xmin: int
    next_xid: int

    @property
    def quiet(self) -> bool:
        """No transaction was running at all."""
        return self.xmin >= self.next_xid

    def all_finished_by(self, later: Horizon) -> bool:
        """Every transaction running at ``self`` has ended by ``later``: all xids
        below ``self.next_xid`` are older than ``later``'s oldest running one."""
        return later.xmin >= self.next_xid
