"""Whole answers to queries, cached until the read models move.

An answer depends only on the document, the variables, the caller, the day
(presets count back from today) and the read models' state, which the
projections' live checkpoints name exactly: each checkpoint is a position in
the append-only log, and the read models at a checkpoint never change. So an
answer is stored under the first four and tagged with the checkpoints read just
before its snapshot began (the answer shows that state or a later one); it is
served while the checkpoints are unchanged. Nothing needs to be invalidated: a
new checkpoint simply misses, and an answer is never older than the checkpoints
of a request it is served to.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

Tag = str
"""The live checkpoints in one value (``checkpoints.live_tag``)."""


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    tag: Tag
    status: int
    body: bytes


class AnswerCache:
    """A bounded LRU of answers (by entries and total bytes), with hit counters."""

    def __init__(self, max_entries: int = 2_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, CachedAnswer] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, tag: Tag) -> CachedAnswer | None:
        """The answer stored under ``key`` if it was read at ``tag``."""
        found = self._entries.get(key)
        if found is None or found.tag != tag:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, answer: CachedAnswer) -> None:
        if len(answer.body) > self.max_bytes // 8:
            return  # one answer never crowds out the rest
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._entries[key] = answer
        self._bytes += len(answer.body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted.body)
