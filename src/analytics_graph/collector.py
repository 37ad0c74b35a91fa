"""The garbage collector kept off hot paths (the server's requests, bulk ingest,
rounds of shared subscriptions).

What exists when the block starts (schema, pools, caches) is frozen out of the
collector's scans, and young collections run less often. Safe where the work's
objects are freed by reference counting (no cycles: the API's answers are tested
for it; ingest batches are plain rows).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

BULK_YOUNG_THRESHOLD = 1_000_000
"""Net allocations between young collections in a process that only ingests (the
CLI, an ingest worker), as in the server while it ingests (its 10,000, a hundred
times less often: ``app.py``, ``ingest/http.py``). A batch's rows live until it is
appended and make no cycles; every young collection would trace and promote them
again. At 70,000 (a hundred times the default) the CLI spent about 8% more CPU (8.2 to
8.9 s of user time per million events against 7.7 to 8.0 s), an ingest worker about
16% (10.1 against 8.7 s); scratch measurements in turns, session 15."""


@contextlib.contextmanager
def quiet_collector(young_threshold: int) -> Iterator[None]:
    """Freezes what exists now and collects the young generation every
    ``young_threshold`` net allocations while the block runs; restores both after."""
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No collection while the block runs: for a burst of work whose many objects all
    live until it ends (a round of shared subscriptions: thousands of executions in
    flight at once), which every collection would trace, and promote, again and
    again; they are freed by reference counting after it. Collections resume after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class BulkCollections:
    """Young collections ``factor`` times less often while at least one block of bulk
    work runs (an ingest request: thousands of rows that live until it ends, and that
    every young collection would trace and promote again); the threshold the process
    had comes back when the last such block ends. Blocks may overlap (tasks of one
    event loop). Safe where that work makes no cycles (ingest rows are plain tuples)."""

    def __init__(self, factor: int) -> None:
        self.factor = factor
        self._running = 0
        self._threshold = gc.get_threshold()

    @contextlib.contextmanager
    def during(self) -> Iterator[None]:
        if self._running == 0:
            self._threshold = gc.get_threshold()
            gc.set_threshold(self._threshold[0] * self.factor, *self._threshold[1:])
        self._running += 1
        try:
            yield
        finally:
            self._running -= 1
            if self._running == 0:
                gc.set_threshold(*self._threshold)
