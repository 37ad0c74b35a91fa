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

Keys are digests (:func:`answer_key`): a key never holds a query text or a
variable's value, so a cache full of distinct large requests weighs its answers
and 32 bytes per key.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b

from analytics_graph.api.engine.lru import SizedLRU

Tag = str
"""The live checkpoints in one value (``checkpoints.live_tag``)."""
KEY_OVERHEAD = 300
"""Bytes an entry costs besides its body (key, tag, bookkeeping)."""


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    tag: Tag
    status: int
    body: bytes


def answer_key(*parts: str | bytes | None) -> bytes:
    """One 32-byte digest of the parts (each length-prefixed, so they cannot run together)."""
    hasher = blake2b(digest_size=32)
    for part in parts:
        data = b"\xff" if part is None else part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.digest()


class AnswerCache:
    """A bounded LRU of answers (by entries and total bytes), with hit counters."""

    def __init__(self, max_entries: int = 2_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._answers: SizedLRU[CachedAnswer] = SizedLRU(max_entries, max_bytes)
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._answers)

    @property
    def weight(self) -> int:
        """Bytes the cached answers are counted as."""
        return self._answers.weight

    def get(self, key: bytes, tag: Tag) -> CachedAnswer | None:
        """The answer stored under ``key`` if it was read at ``tag``."""
        found = self._answers.get(key)
        if found is None or found.tag != tag:
            self.misses += 1
            return None
        self.hits += 1
        return found

    def put(self, key: bytes, answer: CachedAnswer) -> None:
        self._answers.put(key, answer, len(answer.body) + len(answer.tag) + KEY_OVERHEAD)
