"""Verifying the sealed log: every leaf recomputed from the log, every head checked.

:func:`verify` walks the log and the stored leaves side by side, in position
order, recomputing each event's leaf hash in Python from the row as stored
(``leaves.py``; independent of the SQL the sealer hashes with). The first
difference is reported with its position and kind:

* ``changed``: the event at this position no longer hashes to its sealed leaf;
* ``reordered``: it hashes to the sealed leaf of another position (events swapped);
* ``missing``: a sealed position is no longer in the log (deleted, or the tail cut);
* ``inserted``: the log holds a position, within the sealed range, that was never sealed.

Then the tree is rebuilt from the recomputed leaves and every stored head's root
and signature are checked (``head``), and a head the auditor kept is proven to be
a prefix of today's log (``kept-head``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from analytics_graph.audit import merkle, proofs, tree
from analytics_graph.audit.heads import TreeHead
from analytics_graph.audit.leaves import ROW_COLUMNS, hash_row
from analytics_graph.audit.tree import CHUNK, HASH, unpack_positions
from analytics_graph.types import Connection

BATCH = 20_000
REORDER_WINDOW = 512


@dataclass(frozen=True, slots=True)
class Finding:
    """One way the log fails a check: ``kind`` at ``position`` (see the module doc)."""

    kind: str
    position: int | None
    detail: str

    def __str__(self) -> str:
        where = "" if self.position is None else f" at position {self.position}"
        return f"{self.kind}{where}: {self.detail}"


@dataclass(slots=True)
class Report:
    """What :func:`verify` checked and found; ``ok`` when nothing was found."""

    events: int = 0
    heads: int = 0
    tree_size: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


async def _sealed(conn: Connection, size: int) -> AsyncIterator[list[tuple[int, bytes]]]:
    """The stored leaves ``(position, hash)`` in order, in batches."""
    chunks = (size + CHUNK - 1) // CHUNK
    step = BATCH // CHUNK
    for first in range(0, chunks, step):
        rows = await conn.fetch(
            "SELECT l.chunk, l.positions, n.hashes FROM audit_leaves l "
            "LEFT JOIN audit_nodes n ON n.level = 0 AND n.chunk = l.chunk "
            "WHERE l.chunk >= $1 AND l.chunk < $2 ORDER BY l.chunk",
            first,
            min(first + step, chunks),
        )
        batch: list[tuple[int, bytes]] = []
        for row in rows:
            positions, hashes = unpack_positions(row["positions"]), bytes(row["hashes"] or b"")
            for offset, position in enumerate(positions):
                if int(row["chunk"]) * CHUNK + offset < size:
                    batch.append((position, hashes[offset * HASH : offset * HASH + HASH]))
        yield batch


async def _logged(conn: Connection, upto: int) -> AsyncIterator[list[Any]]:
    """The log's rows up to ``upto`` in order, in batches."""
    after = -(2**63)
    sql = (
        f"SELECT {ROW_COLUMNS} FROM events WHERE position > $1 AND position <= $2 "
        "ORDER BY position LIMIT $3"
    )
    while rows := await conn.fetch(sql, after, upto, BATCH):
        yield list(rows)
        after = rows[-1]["position"]


DETACHED_SQL = "SELECT lower, upper FROM event_partitions_detached ORDER BY lower"


class _Walk:
    """The merge of the stored leaves and the log, one event at a time."""

    def __init__(self, conn: Connection, size: int, upto: int, detached: list[Any]) -> None:
        self.sealed = _sealed(conn, size)
        self.logged = _logged(conn, upto)
        self.detached = [(int(r["lower"]), int(r["upper"])) for r in detached]
        self.leaves: list[tuple[int, bytes]] = []
        self.rows: list[Any] = []
        self.i = self.j = 0

    async def leaf(self) -> tuple[int, bytes] | None:
        if self.i == len(self.leaves):
            self.leaves, self.i = await anext(self.sealed, []), 0
        return self.leaves[self.i] if self.leaves else None

    async def row(self) -> Any:
        if self.j == len(self.rows):
            self.rows, self.j = await anext(self.logged, []), 0
        return self.rows[self.j] if self.rows else None

    def is_detached(self, position: int) -> bool:
        """Whether ``position`` lies in a partition exported and detached (archive.py)."""
        return any(lower <= position < upper for lower, upper in self.detached)

    def swapped_with(self, row: Any) -> int | None:
        """The sealed position whose leaf ``row`` matches when placed there, if any."""
        low, high = max(0, self.i - REORDER_WINDOW), min(len(self.leaves), self.i + REORDER_WINDOW)
        for position, sealed in self.leaves[low:high]:
            if position != row["position"] and hash_row(row, position) == sealed:
                return int(position)
        return None


async def _walk(conn: Connection, size: int, upto: int, builder: merkle.Builder) -> Finding | None:
    """Feeds ``builder`` the recomputed leaves; returns the first difference, if any.
    Leaves of detached partitions are fed as sealed (their rows are in their export)."""
    walk = _Walk(conn, size, upto, await conn.fetch(DETACHED_SQL))
    while True:
        leaf, row = await walk.leaf(), await walk.row()
        if leaf is None and row is None:
            return None
        if leaf is not None and walk.is_detached(leaf[0]):
            if row is not None and row["position"] <= leaf[0]:
                return Finding("inserted", row["position"], "an event in a detached range")
            _grow(builder, leaf[1])
            walk.i += 1
            continue
        if row is None or (leaf is not None and row["position"] > leaf[0]):
            assert leaf is not None
            return Finding("missing", leaf[0], "a sealed event is no longer in the log")
        if leaf is None or row["position"] < leaf[0]:
            return Finding("inserted", row["position"], "the log holds an event never sealed")
        computed = hash_row(row)
        if computed != leaf[1]:
            other = walk.swapped_with(row)
            if other is not None:
                return Finding("reordered", row["position"], f"holds the event sealed at {other}")
            return Finding("changed", row["position"], "the event differs from the one sealed")
        _grow(builder, computed)
        walk.i, walk.j = walk.i + 1, walk.j + 1


def _grow(builder: merkle.Builder, leaf: bytes) -> None:
    builder.add(leaf)
    if builder.size % BATCH == 0:
        for level in range(len(builder.levels)):
            builder.drop(level, builder.size >> level)


async def verify(conn: Connection, kept: TreeHead | None = None) -> Report:
    """Checks the sealed log (see the module doc); never raises for a failed check."""
    position, size = await tree.read_checkpoint(conn)
    heads = await tree.all_heads(conn)
    report = Report(tree_size=size, heads=len(heads))
    roots = _RootsAt({size, *(h.tree_size for h in heads), *([kept.tree_size] if kept else [])})
    builder = _Recording(roots)
    finding = await _walk(conn, size, position, builder)
    report.events = builder.size
    if finding is not None:
        report.findings.append(finding)
        return report
    for head in heads:
        report.findings.extend(_check_head(head, roots, "head"))
    if kept is not None:
        report.findings.extend(await _check_kept(conn, kept, roots, size))
    return report


class _RootsAt:
    """The roots of the rebuilt tree at the sizes asked for."""

    def __init__(self, sizes: set[int]) -> None:
        self.sizes = sizes
        self.found: dict[int, bytes] = {0: merkle.EMPTY_ROOT}


class _Recording(merkle.Builder):
    def __init__(self, roots: _RootsAt) -> None:
        super().__init__()
        self._roots = roots

    def add(self, leaf: bytes) -> None:
        super().add(leaf)
        if self.size in self._roots.sizes:
            self._roots.found[self.size] = self.root()


def _check_head(head: TreeHead, roots: _RootsAt, kind: str) -> list[Finding]:
    findings = []
    if not head.valid():
        findings.append(Finding(kind, None, f"the head of size {head.tree_size}: bad signature"))
    root = roots.found.get(head.tree_size)
    if root is None:
        findings.append(Finding(kind, None, f"size {head.tree_size}: beyond the sealed log"))
    elif root != head.root_hash:
        findings.append(
            Finding(kind, None, f"size {head.tree_size}: the log hashes to {root.hex()}")
        )
    return findings


async def _check_kept(
    conn: Connection, kept: TreeHead, roots: _RootsAt, size: int
) -> list[Finding]:
    findings = _check_head(kept, roots, "kept-head")
    if findings:
        return findings
    proof = await proofs.consistency(conn, kept.tree_size, size)
    latest = await proofs.root_at(conn, size)
    try:
        _, new_root = merkle.roots_from_consistency(
            kept.tree_size, size, kept.root_hash, proof.path
        )
    except ValueError as exc:
        return [Finding("kept-head", None, f"no consistency proof: {exc}")]
    if new_root != latest or latest != roots.found.get(size, latest):
        return [Finding("kept-head", None, "today's tree does not extend the kept head")]
    return []
