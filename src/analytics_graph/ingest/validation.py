"""Validating a batch of engagement events whole, before anything is written.

Two passes: first each event is decoded and checked on its own (structure,
types, ranges; :mod:`wire`), collecting the accounts and videos the batch
refers to; then their facts are refreshed from the log in one query
(:class:`FactsCache`) and each event is checked against them and normalised
into a row of docs/log-format.md, in the form :meth:`EventStore.append_rows`
copies (:mod:`normalise`). :attr:`Validation.events` gives the same events as
:class:`NewEvent` objects (``data`` as JSON text), for whoever wants them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from typing import cast

import msgspec
import orjson

from analytics_graph.eventstore.formats import FactRow, as_new_event
from analytics_graph.eventstore.records import NewEvent
from analytics_graph.eventstore.store import EventStore
from analytics_graph.ingest import storable, wire
from analytics_graph.ingest.facts import FactsCache
from analytics_graph.ingest.normalise import (
    BatchContext,
    CanonicalIds,
    account_subjects,
    to_rows,
)
from analytics_graph.ingest.rejections import Invalid, Rejection, from_msgspec
from analytics_graph.ingest.vocabulary import DEFAULT_MAX_BATCH, MAX_LINE_BYTES

# Events checked between two yields to the event loop, so that the append of the
# previous batch proceeds while this one is validated.
YIELD_EVERY = 100
# Lines decoded in one call by the fast path (about half a millisecond).
WHOLE_CHUNK = 1000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Validation:
    """A batch after validation: its valid events as rows of the log (in input order)
    and its rejections.

    ``rejections`` are sorted by index; a rejection with ``index`` ``None``
    refuses the batch as a whole (it was too large) and then nothing was checked.
    """

    size: int
    rows: list[FactRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejections

    @property
    def events(self) -> list[NewEvent]:
        """The valid events as :class:`NewEvent` objects (made on each call)."""
        return [as_new_event(row) for row in self.rows]


@dataclass(slots=True)
class _Decoded:
    events: list[wire.EngagementEvent] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)  # of ``events``, in the batch
    subjects: set[str] = field(default_factory=set)  # account and video ids as sent
    rejections: list[Rejection] = field(default_factory=list)

    def add(self, index: int, event: wire.EngagementEvent) -> None:
        self.events.append(event)
        self.indices.append(index)
        video = getattr(event, "video_id", None)
        if video is None:
            self.subjects.update(account_subjects(event))
        else:
            self.subjects.add(video)

    def add_all(self, first: int, events: list[wire.EngagementEvent]) -> None:
        """Adds ``events``, numbered from ``first``: :meth:`add` for each, in bulk."""
        self.events.extend(events)
        self.indices.extend(range(first, first + len(events)))
        videos: list[str | None] = [getattr(event, "video_id", None) for event in events]
        seen = set(videos)
        if None in seen:  # account events
            seen.discard(None)
            for event, video in zip(events, videos, strict=True):
                if video is None:
                    self.subjects.update(account_subjects(event))
        self.subjects.update(cast(set[str], seen))


class Validator:
    """Checks batches against the ingest format and the log's facts.

    ``clock`` gives "now" for the future-skew rule (once per batch). The
    validator keeps caches (facts, canonical ids) and can be shared by the
    tasks of one event loop.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        clock: Callable[[], datetime] = utc_now,
        facts: FactsCache | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.max_line_bytes = max_line_bytes
        self.clock = clock
        self.facts = facts or FactsCache()
        self.canonical = CanonicalIds()

    async def lines(self, lines: Sequence[bytes], *, first_line: int = 1) -> Validation:
        """Validates NDJSON lines; rejections are indexed by line number from ``first_line``.

        A blank line (empty, or only whitespace) is skipped, not rejected: files
        commonly end with one, and editors add them. It still counts as a line,
        so line numbers stay those of the file.
        """
        if len(lines) > self.max_batch:
            return self._oversized(len(lines))
        decoded = _Decoded()
        if not await self._decode_whole(lines, first_line, decoded):
            await self._decode(enumerate(lines, first_line), decoded)
        return await self._finish(len(lines), decoded)

    async def events(self, events: Sequence[object]) -> Validation:
        """Validates parsed events (dicts in the ingest format); indexed from 0.

        Values are what JSON holds; ``uuid.UUID`` and aware ``datetime``
        objects are taken too (as their JSON text would be).
        """
        if len(events) > self.max_batch:
            return self._oversized(len(events))
        decoded = _Decoded()
        await self._decode(_as_json(events, decoded.rejections), decoded)
        return await self._finish(len(events), decoded)

    def _oversized(self, size: int) -> Validation:
        reason = f"a batch holds at most {self.max_batch} events; this one has {size}"
        return Validation(size, [], [Rejection(None, None, reason)])

    async def _decode_whole(self, lines: Sequence[bytes], first: int, out: _Decoded) -> bool:
        """Decodes a batch of ordinary lines in a few calls (as JSON arrays of up to
        ``WHOLE_CHUNK`` lines); ``False`` (``out`` untouched) when some line needs a
        look of its own (:meth:`_decode` then takes the batch line by line, and finds
        the same events and the rejections).

        Sound because each line starts with ``{`` and the lines are joined with
        ``"\\n,"``: JSON has no raw newline inside a string, the events have no
        arrays, and a comma before ``{`` cannot separate an object's members, so every
        joined comma separates two elements of the array; with as many elements as
        lines, each element is its line, decoded as it would be on its own.
        """
        if not lines or max(map(len, lines)) > self.max_line_bytes:
            return False
        if not all(map(bytes.startswith, lines, repeat(b"{"))):
            return False  # blank lines, a byte-order mark, not an object: line by line
        events: list[wire.EngagementEvent] = []
        for start in range(0, len(lines), WHOLE_CHUNK):
            chunk = lines[start : start + WHOLE_CHUNK]
            joined = b"[" + b"\n,".join(chunk) + b"]"
            # A backslash is rare, and a search for one byte much faster than for six.
            if b"\\" in joined and storable.NUL_ESCAPE in joined:
                return False
            try:
                found = wire.ARRAY_DECODER.decode(joined)
            except msgspec.MsgspecError:
                return False
            if len(found) != len(chunk):
                return False
            events.extend(found)
            await asyncio.sleep(0)  # lets a concurrent append make progress
        out.add_all(first, events)
        return True

    async def _decode(self, raws: Iterable[tuple[int, bytes]], out: _Decoded) -> None:
        decode = wire.DECODER.decode
        limit = self.max_line_bytes
        for count, (index, raw) in enumerate(raws, 1):
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # lets a concurrent append make progress
            if len(raw) > limit:
                reason = f"an event is longer than {limit} bytes"
                out.rejections.append(Rejection(index, None, reason))
                continue
            try:
                event = decode(raw)
            except msgspec.MsgspecError as exc:
                if raw and not raw.isspace():  # a blank line is skipped
                    out.rejections.append(_undecodable(raw, exc).at(index))
                continue
            if storable.NUL_ESCAPE in raw and (bad := storable.in_line(raw)) is not None:
                out.rejections.append(bad.at(index))
                continue
            out.add(index, event)

    async def _finish(self, size: int, decoded: _Decoded) -> Validation:
        await self.facts.refresh(self.store, self.canonical.all_valid(decoded.subjects))
        ctx = BatchContext(self.facts, self.canonical, self.clock())
        valid: list[FactRow] = []
        rejections = decoded.rejections
        events, indices = decoded.events, decoded.indices
        for start in range(0, len(events), YIELD_EVERY):
            if start:
                await asyncio.sleep(0)
            end = start + YIELD_EVERY
            to_rows(events[start:end], indices[start:end], ctx, valid, rejections)
        rejections.sort(key=Rejection.order)
        return Validation(size, valid, rejections)


def _as_json(events: Sequence[object], rejections: list[Rejection]) -> Iterable[tuple[int, bytes]]:
    for index, event in enumerate(events):
        try:
            yield index, orjson.dumps(event)
        except TypeError as exc:
            bad = storable.find(event)
            if bad is not None:
                rejections.append(bad.at(index))
            else:
                rejections.append(Rejection(index, None, f"not representable as JSON ({exc})"))


def _undecodable(raw: bytes, error: msgspec.MsgspecError) -> Invalid:
    # msgspec refuses a lone surrogate as malformed JSON; name its field instead.
    return storable.in_line(raw) or from_msgspec(error)
