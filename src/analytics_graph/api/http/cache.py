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

Keys are digests (:func:`answer_key`): a key never holds a query text or a
variable's value, so a cache full of distinct large requests weighs its answers
and 32 bytes per key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b

from analytics_graph.api.engine.lru import SizedLRU

Tag = str
"""The live checkpoints in one value (``checkpoints.live_tag``: ``name/version@position``
separated by spaces)."""
KEY_OVERHEAD = 300
"""Bytes an entry costs besides its body (key, tag, bookkeeping)."""


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
    mine, theirs = parse(tag), parse(than)
    if not mine or not theirs:  # a tag that names no state is only equal to itself
        return False
    return all(name in mine and mine[name] >= state for name, state in theirs.items())


def position_of(tag: Tag) -> int:
    """The log position every read model of ``tag`` includes (0 for none)."""
    return min((position for _, position in parse(tag).values()), default=0)


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
        """The answer stored under ``key`` if it was read at ``tag`` or a later state."""
        found = self._answers.get(key)
        if found is None or not not_older(found.tag, tag):
            self.misses += 1
            return None
        self.hits += 1
        return found

    def put(self, key: bytes, answer: CachedAnswer) -> None:
        """Stores ``answer`` unless an answer of a later state is stored under ``key``
        already (the cache never goes back)."""
        present = self._answers.get(key)
        if present is not None and present.tag != answer.tag and not_older(present.tag, answer.tag):
            return
        self._answers.put(key, answer, len(answer.body) + len(answer.tag) + KEY_OVERHEAD)
