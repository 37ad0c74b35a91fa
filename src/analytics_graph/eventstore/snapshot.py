"""PostgreSQL transaction snapshots (``pg_snapshot``), parsed from their text form."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Snapshot:
    """``xmin:xmax:xip`` of ``pg_current_snapshot()``: which transactions were in flight."""

    xmin: int
    xmax: int
    xip: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, xip = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x))

    def all_finished_in(self, later: Snapshot) -> bool:
        """True when every transaction in flight in ``self`` has ended by ``later``.

        A transaction of ``self.xip`` is still running in ``later`` exactly when it
        is in ``later.xip`` (its xid is below ``later.xmax``, being older).
        """
        return self.xip.isdisjoint(later.xip)
