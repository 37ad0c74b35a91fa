"""RFC 6962 Merkle trees: hashing, roots, inclusion and consistency proofs.

Pure functions, no I/O. A tree of ``n`` leaves is read through a
:data:`NodeSource`: ``node(level, index)`` is the hash of the *complete*
subtree of ``2**level`` leaves starting at leaf ``index * 2**level`` (level 0:
the leaf hashes). Every hash RFC 6962 section 2.1 defines, ``MTH(D[a:b])``, is
built from such complete subtrees (:func:`subtree`), so a store that keeps
only complete subtrees answers any proof with ``O(log n)`` node reads.

Because which nodes a proof reads never depends on their values, a caller can
run a proof once with :class:`Recorder` to learn the nodes it needs, fetch
them in one round trip, and run it again over the fetched values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeSource = Callable[[int, int], bytes]
"""``node(level, index)``: a complete subtree's hash."""


def leaf_hash(encoded: bytes) -> bytes:
    """``SHA-256(0x00 || encoded)``."""
    return hashlib.sha256(LEAF_PREFIX + encoded).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size >= 2``)."""
    return 1 << ((size - 1).bit_length() - 1)


def subtree(node: NodeSource, start: int, end: int) -> bytes:
    """``MTH(D[start:end])`` for ``start`` aligned as RFC 6962's recursion leaves it
    (a multiple of the largest power of two not above ``end - start``)."""
    size = end - start
    if size <= 0:
        raise ValueError(f"empty range {start}:{end}")
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return node(level, start >> level)
    k = split(size)
    return node_hash(subtree(node, start, start + k), subtree(node, start + k, end))


def root(node: NodeSource, size: int) -> bytes:
    """``MTH`` of the first ``size`` leaves (SHA-256 of nothing for 0)."""
    return EMPTY_ROOT if size == 0 else subtree(node, 0, size)


def inclusion_path(node: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 6962 ``PATH(index, D[size])``, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append(subtree(node, start + k, end))
            end = start + k
        else:
            path.append(subtree(node, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(node: NodeSource, old: int, new: int) -> list[bytes]:
    """RFC 6962 ``PROOF(old, D[new])``: that the first ``old`` leaves of the tree of
    ``new`` are the tree of ``old``. Empty when ``old`` is 0 or equals ``new``."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    if old in (0, new):
        return []
    path: list[bytes] = []
    start, end, complete = 0, new, True
    m = old
    while m != end - start:
        k = split(end - start)
        if m <= k:
            path.append(subtree(node, start + k, end))
            end = start + k
        else:
            path.append(subtree(node, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        path.append(subtree(node, start, end))
    path.reverse()
    return path


class Recorder:
    """A :data:`NodeSource` that records the nodes asked for and answers zeros."""

    def __init__(self) -> None:
        self.wanted: list[tuple[int, int]] = []

    def __call__(self, level: int, index: int) -> bytes:
        self.wanted.append((level, index))
        return bytes(32)


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root an inclusion path leads to (RFC 9162 section 2.1.3.2); raises
    ``ValueError`` when the path has the wrong length."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise ValueError("the path is too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the path is too short")
    return result


def roots_from_consistency(
    old: int, new: int, old_root: bytes, path: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """The (old, new) roots a consistency path yields (RFC 9162 section 2.1.4.2);
    raises ``ValueError`` when it cannot be a proof between these sizes."""
    if old == new:
        if path:
            raise ValueError("a proof between equal sizes is empty")
        return old_root, old_root
    if not 0 < old < new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    nodes = list(path)
    if old & (old - 1) == 0:
        nodes.insert(0, old_root)
    if not nodes:
        raise ValueError("the path is empty")
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ValueError("the path is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the path is too short")
    return fr, sr


class Builder:
    """Grows a tree leaf by leaf, keeping every complete subtree's hash as it forms.

    ``levels[L]`` holds the level-``L`` nodes from index ``offsets[L]`` on (a
    caller that saved the older ones may :meth:`drop` them); the pending right
    edge is always kept, so :meth:`root` works at any size.
    """

    def __init__(self, size: int = 0, edge: Iterable[tuple[int, bytes]] = ()) -> None:
        """A builder at ``size`` leaves; ``edge`` gives, for each set bit ``L`` of
        ``size``, the hash of the last complete level-``L`` node that has no parent."""
        self.size = size
        self.levels: list[list[bytes]] = []
        self.offsets: list[int] = []
        known = dict(edge)
        for level in range(max(size.bit_length(), 1)):
            index = size >> level
            if size >> level & 1:
                self.levels.append([known[level]])
                self.offsets.append(index - 1)
            else:
                self.levels.append([])
                self.offsets.append(index)

    def _level(self, level: int) -> list[bytes]:
        while len(self.levels) <= level:
            self.levels.append([])
            self.offsets.append(0)
        return self.levels[level]

    def add(self, leaf: bytes) -> None:
        """Appends one leaf hash, hashing every subtree it completes."""
        value, level, index = leaf, 0, self.size
        while True:
            nodes = self._level(level)
            nodes.append(value)
            if not index & 1:
                break
            value = node_hash(nodes[-2], value)
            level, index = level + 1, index >> 1
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Appends leaf hashes: the same as :meth:`add` for each, a level at a time."""
        new = list(leaves)
        if not new:
            return
        old, self.size = self.size, self.size + len(new)
        self._level(0).extend(new)
        level, sha256 = 0, hashlib.sha256
        while (low := old >> (level + 1)) < (high := self.size >> (level + 1)):
            nodes, base = self.levels[level], self.offsets[level]
            parents = [
                sha256(NODE_PREFIX + nodes[2 * i - base] + nodes[2 * i + 1 - base]).digest()
                for i in range(low, high)
            ]
            self._level(level + 1).extend(parents)
            level += 1

    def node(self, level: int, index: int) -> bytes:
        """A complete node still held (raises ``IndexError`` for one dropped or unborn)."""
        position = index - self.offsets[level]
        if position < 0:
            raise IndexError(f"node {level}/{index} was dropped")
        return self.levels[level][position]

    def edge(self) -> list[tuple[int, bytes]]:
        """The right edge: for each set bit ``L`` of the size, its last level-``L`` node."""
        return [
            (level, self.node(level, (self.size >> level) - 1))
            for level in range(self.size.bit_length())
            if self.size >> level & 1
        ]

    def root(self) -> bytes:
        """``MTH`` of every leaf added so far."""
        result: bytes | None = None
        for _, value in self.edge():
            result = value if result is None else node_hash(value, result)
        return EMPTY_ROOT if result is None else result

    def drop(self, level: int, upto: int) -> None:
        """Forgets level-``level`` nodes below index ``upto`` (keeps an unpaired left one)."""
        keep_from = min(upto, (self.size >> level) - 1 if (self.size >> level) & 1 else upto)
        cut = keep_from - self.offsets[level]
        if cut > 0:
            del self.levels[level][:cut]
            self.offsets[level] = keep_from
