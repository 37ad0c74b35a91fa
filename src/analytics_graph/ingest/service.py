"""Ingesting engagement events: validate a batch whole, then append it idempotently.

Usage::

    ingestor = Ingestor(system.store)
    outcome = await ingestor.ingest_events([{"eventId": ..., "type": "view", ...}])
    if outcome.rejections:       # nothing of the batch was written
        ...
    outcome.accepted, outcome.duplicates
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence, Set
from datetime import datetime
from itertools import compress
from operator import itemgetter, not_
from typing import Final
from uuid import UUID

from analytics_graph.config import Settings
from analytics_graph.eventstore.formats import EVENT_ID, FactRow
from analytics_graph.eventstore.store import EventStore
from analytics_graph.ingest.facts import FactsCache
from analytics_graph.ingest.outcome import IngestOutcome
from analytics_graph.ingest.rejections import Rejection
from analytics_graph.ingest.validation import Validation, Validator, utc_now
from analytics_graph.ingest.vocabulary import DEFAULT_MAX_BATCH, MAX_LINE_BYTES
from analytics_graph.observability import metrics

DEFAULT_REMEMBERED: Final = 1_000_000  # ids; about 100 MB at most
_event_id = itemgetter(EVENT_ID)


class StoredIds:
    """The ids of the last ``limit`` (or so) events an ingestor has seen stored.

    The log is append-only, so such an id is stored for good: a re-delivery of
    it is a duplicate without asking the database, and the rest of a batch can
    be appended optimistically (see :meth:`EventStore.append_bulk`).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._ids: set[UUID] = set()
        self._batches: deque[list[UUID]] = deque()
        self._writing: list[tuple[set[UUID], asyncio.Future[None]]] = []  # appends in flight

    @property
    def ids(self) -> Set[UUID]:
        """The remembered ids (read-only view; a set, for fast membership tests)."""
        return self._ids

    async def settled(self, ids: Sequence[UUID]) -> None:
        """Waits for the appends in flight (of this ingestor) that carry some of ``ids``.
        Then those ids are either stored (and known here) or not, and an optimistic
        append of the rest does not collide with them: a collision makes PostgreSQL
        wait for the other transaction and the loser redo its batch.
        (Correctness never depends on this: ``append_bulk`` handles races.)"""
        if not self._writing:
            return
        found = [done for writing, done in self._writing if not writing.isdisjoint(ids)]
        if found:
            await asyncio.wait(found)

    @contextlib.contextmanager
    def writing(self, ids: Sequence[UUID]) -> Iterator[None]:
        """Marks ``ids`` as being appended while the block runs."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (set(ids), done)
        self._writing.append(entry)
        try:
            yield
        finally:
            done.set_result(None)
            self._writing = [other for other in self._writing if other is not entry]

    def add(self, ids: Sequence[UUID]) -> None:
        batch = list(ids)
        self._ids.update(batch)
        self._batches.append(batch)
        while len(self._ids) > self.limit and self._batches:
            self._ids.difference_update(self._batches.popleft())


class Ingestor:
    """Validates and appends batches of engagement events (at most ``max_batch`` each).

    By default a batch with any invalid event is rejected whole and nothing of
    it is written; with ``skip_invalid`` its valid events are written and the
    invalid ones reported. Re-sending an ``eventId`` never stores it twice,
    also when several tasks or processes ingest overlapping batches at once.
    ``remember`` bounds how many stored ids are kept to spot re-deliveries
    without a lookup (0: none; then every append looks all ids up first).
    """

    def __init__(
        self,
        store: EventStore,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        clock: Callable[[], datetime] = utc_now,
        facts: FactsCache | None = None,
        remember: int = DEFAULT_REMEMBERED,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.store = store
        self.validator = Validator(
            store, max_batch=max_batch, clock=clock, facts=facts, max_line_bytes=max_line_bytes
        )
        self.stored = StoredIds(remember) if remember else None

    @classmethod
    def configured(cls, store: EventStore, settings: Settings) -> Ingestor:
        """The ingestor of a process: the batch limit and remembered ids of ``settings``."""
        return cls(
            store, max_batch=settings.max_ingest_batch, remember=settings.ingest_remembered_ids
        )

    async def ingest_events(
        self, events: Sequence[object], *, skip_invalid: bool = False
    ) -> IngestOutcome:
        """Validates and appends parsed events (dicts in the ingest format, indexed from 0)."""
        return await self.write(await self.validator.events(events), skip_invalid=skip_invalid)

    async def ingest_lines(
        self, lines: Sequence[bytes], *, first_line: int = 1, skip_invalid: bool = False
    ) -> IngestOutcome:
        """Validates and appends NDJSON lines (rejections indexed by line number)."""
        validation = await self.validator.lines(lines, first_line=first_line)
        return await self.write(validation, skip_invalid=skip_invalid)

    async def write_all(
        self, validations: Sequence[Validation], *, skip_invalid: bool = False
    ) -> IngestOutcome:
        """Appends several validated batches as one unit: all of them in one
        transaction, or (a rejection without ``skip_invalid``) nothing at all."""
        return await self.write(merged(validations), skip_invalid=skip_invalid)

    async def write(self, validation: Validation, *, skip_invalid: bool = False) -> IngestOutcome:
        """Appends a validated batch: all of it, or (``skip_invalid``) its valid events.

        Raises :class:`~analytics_graph.errors.StoreError` when the store
        fails; then nothing of the batch was written.
        """
        rejections = tuple(validation.rejections)
        whole = any(r.index is None for r in rejections)
        if rejections and (whole or not skip_invalid):
            valid = len(validation.rows)
            return IngestOutcome(validation.size, 0, 0, rejections, True, valid)
        rows, known = validation.rows, 0
        ids = list(map(_event_id, rows))
        if self.stored is not None:
            await self.stored.settled(ids)
            # One look-up per id, and no Python step per row.
            seen = list(map(self.stored.ids.__contains__, ids))
            if any(seen):
                new = list(map(not_, seen))
                rows, ids = list(compress(rows, new)), list(compress(ids, new))
            known = len(validation.rows) - len(rows)
        if not rows:
            return IngestOutcome(validation.size, 0, known, rejections)
        started = time.perf_counter()
        writing = self.stored.writing(ids) if self.stored is not None else None
        with writing or contextlib.nullcontext():
            result = await self.store.append_rows(rows, optimistic=self.stored is not None)
        metrics.APPEND_SECONDS.observe(time.perf_counter() - started)
        if self.stored is not None:
            self.stored.add(ids)
        return IngestOutcome(
            validation.size,
            result.accepted,
            result.duplicates + known,
            rejections,
            position=result.last_position,
        )


def merged(validations: Sequence[Validation]) -> Validation:
    """One validation holding the events and rejections of ``validations``, in order."""
    if len(validations) == 1:
        return validations[0]
    rows: list[FactRow] = []
    rejections: list[Rejection] = []
    for validation in validations:
        rows.extend(validation.rows)
        rejections.extend(validation.rejections)
    return Validation(sum(v.size for v in validations), rows, rejections)
