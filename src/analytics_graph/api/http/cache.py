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

With read replicas, requests read states of different ages (each replica is
somewhere behind the primary on the one history). Tags are then compared, not
only matched (:func:`not_older`): an answer is served to a request whose state
is the same *or older* (a newer state is as good an answer), and an answer of
an older state never replaces a newer one. So a lagging replica never makes the
cache go back, and an answer once cached is never followed by an older one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache

Tag = str
"""The live checkpoints in one value (``checkpoints.live_tag``: ``name/version@position``
separated by spaces)."""


@lru_cache(maxsize=256)
def parse(tag: Tag) -> dict[str, tuple[int, int]]:
    """Each projection's ``(version, position)`` in ``tag``; a malformed part is left out."""
    parsed = {}
    for part in tag.split():
        name, _, rest = part.rpartition("/")
        version, _, position = rest.partition("@")
        if name and version.isdigit() and position.isdigit():
            parsed[name] = (int(version), int(position))
    return parsed


def not_older(tag: Tag, than: Tag) -> bool:
    """Whether the state ``tag`` names is ``than``'s or a later one: every projection
    of ``than`` is in ``tag`` at a version and position at least as high."""
    if tag == than:
        return True
    mine = parse(tag)
    return all(name in mine and mine[name] >= state for name, state in parse(than).items())


def position_of(tag: Tag) -> int:
    """The log position every read model of ``tag`` includes (0 for none)."""
    return min((position for _, position in parse(tag).values()), default=0)


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
        """The answer stored under ``key`` if it was read at ``tag`` or a later state."""
        found = self._entries.get(key)
        if found is None or not not_older(found.tag, tag):
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, answer: CachedAnswer) -> None:
        """Stores ``answer`` unless it is too large, or an answer of a later state is
        stored under ``key`` already (the cache never goes back)."""
        if len(answer.body) > self.max_bytes // 8:
            return  # one answer never crowds out the rest
        present = self._entries.get(key)
        if present is not None and present.tag != answer.tag and not_older(present.tag, answer.tag):
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._entries[key] = answer
        self._bytes += len(answer.body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted.body)
