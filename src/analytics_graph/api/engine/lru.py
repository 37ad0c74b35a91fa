"""A least-recently-used map bounded by its number of entries and by their bytes.

Every cache of the API is one of these, keyed by digests (never by a request's
text or values), so a cache's memory has a ceiling whatever clients send: an
entry weighs what its owner says it weighs, an entry heavier than an eighth of
the budget is not kept at all, and the oldest entries go first. Safe to use from
worker threads (one lock, held for dictionary operations only).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class SizedLRU(Generic[V]):
    """At most ``max_entries`` values weighing at most ``max_bytes`` together."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def weight(self) -> int:
        """The weight of the values held."""
        return self._bytes

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: V, weight: int) -> bool:
        """Keeps ``value`` (evicting the oldest as needed); False when it is too heavy."""
        if weight > self.max_bytes // 8:
            return False  # one entry never crowds out the rest
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, weight)
            self._bytes += weight
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
        return True
