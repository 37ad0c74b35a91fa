"""The stored tree: complete-subtree hashes and leaf positions, in chunks.

``audit_nodes(level, chunk)`` holds the hashes of level-``level`` nodes
``chunk*256 .. chunk*256+255`` (only complete subtrees, so a chunk only ever
grows); ``audit_leaves(chunk)`` holds the positions of those leaves, 8 bytes
each. About 2 x 32 + 8 bytes per event, and a proof reads ``O(log n)``
32-byte slices in one statement (see ``docs/audit.md`` for measured figures).
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analytics_graph.audit.heads import TreeHead
from analytics_graph.audit.merkle import Builder
from analytics_graph.types import Connection

CHUNK = 256
HASH = 32
_POS = struct.Struct(">q")

NODES_SQL = """
SELECT w.level, w.idx, substring(n.hashes FROM (w.idx % 256)::int * 32 + 1 FOR 32) AS hash
FROM unnest($1::smallint[], $2::bigint[]) AS w(level, idx)
JOIN audit_nodes n ON n.level = w.level AND n.chunk = w.idx / 256
"""
SAVE_NODES_SQL = """
INSERT INTO audit_nodes (level, chunk, hashes)
SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])
ON CONFLICT (level, chunk) DO UPDATE SET hashes = excluded.hashes
"""
SAVE_LEAVES_SQL = """
INSERT INTO audit_leaves (chunk, first_position, positions)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
ON CONFLICT (chunk) DO UPDATE SET positions = excluded.positions
"""
HEAD_COLUMNS = "tree_size, root_hash, sealed_at, signature, public_key"


def pack_positions(positions: Iterable[int]) -> bytes:
    return b"".join(_POS.pack(p) for p in positions)


def unpack_positions(raw: bytes) -> list[int]:
    return [p for (p,) in _POS.iter_unpack(raw)]


@dataclass(slots=True)
class Tail:
    """What the sealer holds in memory: the tree's nodes from the start of each
    level's last chunk on, and the positions of the last leaf chunk."""

    builder: Builder
    positions: list[int]
    """Positions of leaves ``(size // CHUNK) * CHUNK`` onwards."""

    @property
    def size(self) -> int:
        return self.builder.size


async def read_checkpoint(conn: Connection, *, lock: bool = False) -> tuple[int, int]:
    """The sealer's ``(position, tree_size)``; with ``lock``, holds its row lock."""
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT position, tree_size FROM audit_checkpoint{suffix}")
    assert row is not None, "migration 3 inserts the checkpoint row"
    return int(row["position"]), int(row["tree_size"])


async def load_tail(conn: Connection, size: int) -> Tail:
    """The :class:`Tail` of a stored tree of ``size`` leaves."""
    builder = Builder()
    builder.size = size
    builder.levels, builder.offsets = [], []
    wanted = [(level, (size >> level) // CHUNK) for level in range(max(size.bit_length(), 1))]
    rows = await conn.fetch(
        "SELECT level, hashes FROM audit_nodes n JOIN unnest($1::smallint[], $2::bigint[]) "
        "AS w(l, c) ON n.level = w.l AND n.chunk = w.c",
        [w[0] for w in wanted],
        [w[1] for w in wanted],
    )
    found = {int(r["level"]): bytes(r["hashes"]) for r in rows}
    for level, chunk in wanted:
        count = (size >> level) - chunk * CHUNK
        raw = found.get(level, b"")[: count * HASH]
        if len(raw) != count * HASH:
            raise ValueError(f"the stored tree lacks nodes of level {level} chunk {chunk}")
        builder.levels.append([raw[i : i + HASH] for i in range(0, len(raw), HASH)])
        builder.offsets.append(chunk * CHUNK)
    raw_positions = await conn.fetchval(
        "SELECT positions FROM audit_leaves WHERE chunk = $1", size // CHUNK
    )
    positions = unpack_positions(raw_positions or b"")[: size % CHUNK]
    return Tail(builder, positions)


def _chunks(builder: Builder, old_size: int) -> tuple[list[int], list[int], list[bytes]]:
    """The node chunks that changed since the tree had ``old_size`` leaves."""
    levels, chunks, blobs = [], [], []
    for level in range(len(builder.levels)):
        low, high = old_size >> level, builder.size >> level
        if high == low:
            continue
        for chunk in range(low // CHUNK, (high - 1) // CHUNK + 1):
            start, end = chunk * CHUNK, min(chunk * CHUNK + CHUNK, high)
            base = builder.offsets[level]
            if start < base:
                raise IndexError(f"level {level} chunk {chunk} was dropped")
            blob = b"".join(builder.levels[level][start - base : end - base])
            levels.append(level)
            chunks.append(chunk)
            blobs.append(blob)
    return levels, chunks, blobs


async def save(conn: Connection, tail: Tail, old_size: int, new_positions: Sequence[int]) -> None:
    """Writes what grew since ``old_size`` (``tail`` already holds it, and
    ``new_positions`` are the positions of the new leaves), then lets ``tail``
    forget all but each level's last chunk."""
    levels, chunks, blobs = _chunks(tail.builder, old_size)
    if levels:
        await conn.execute(SAVE_NODES_SQL, levels, chunks, blobs)
    first_chunk = old_size // CHUNK
    positions = tail.positions
    positions.extend(new_positions)
    leaf_chunks, firsts, packed = [], [], []
    for chunk in range(first_chunk, (tail.size - 1) // CHUNK + 1):
        part = positions[(chunk - first_chunk) * CHUNK : (chunk - first_chunk + 1) * CHUNK]
        leaf_chunks.append(chunk)
        firsts.append(part[0])
        packed.append(pack_positions(part))
    if leaf_chunks:
        await conn.execute(SAVE_LEAVES_SQL, leaf_chunks, firsts, packed)
    last_chunk = tail.size // CHUNK
    del positions[: (last_chunk - first_chunk) * CHUNK]
    for level in range(len(tail.builder.levels)):
        tail.builder.drop(level, ((tail.size >> level) // CHUNK) * CHUNK)


async def fetch_nodes(
    conn: Connection, wanted: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of complete nodes ``(level, index)`` (missing ones left out)."""
    unique = sorted(set(wanted))
    if not unique:
        return {}
    rows = await conn.fetch(NODES_SQL, [w[0] for w in unique], [w[1] for w in unique])
    return {(int(r["level"]), int(r["idx"])): bytes(r["hash"]) for r in rows if r["hash"]}


async def leaf_index(conn: Connection, position: int, size: int) -> int | None:
    """The 0-based index of the leaf of ``position`` among the first ``size`` leaves,
    or ``None`` when that position is not one of them."""
    row = await conn.fetchrow(
        "SELECT chunk, positions FROM audit_leaves WHERE first_position <= $1 "
        "ORDER BY first_position DESC LIMIT 1",
        position,
    )
    if row is None:
        return None
    positions = unpack_positions(row["positions"])
    found = bisect.bisect_left(positions, position)
    if found == len(positions) or positions[found] != position:
        return None
    index = int(row["chunk"]) * CHUNK + found
    return index if index < size else None


async def leaf_positions(conn: Connection, start: int, end: int) -> list[int]:
    """Positions of leaves ``start .. end - 1``."""
    rows = await conn.fetch(
        "SELECT chunk, positions FROM audit_leaves WHERE chunk BETWEEN $1 AND $2 ORDER BY chunk",
        start // CHUNK,
        max(end - 1, 0) // CHUNK,
    )
    result: list[int] = []
    for row in rows:
        base = int(row["chunk"]) * CHUNK
        for offset, position in enumerate(unpack_positions(row["positions"])):
            if start <= base + offset < end:
                result.append(position)
    return result


def _head(row: object) -> TreeHead:
    r = dict(row)  # type: ignore[call-overload]
    return TreeHead(
        tree_size=int(r["tree_size"]),
        root_hash=bytes(r["root_hash"]),
        sealed_at=r["sealed_at"],
        signature=bytes(r["signature"]),
        public_key=bytes(r["public_key"]),
    )


async def insert_head(conn: Connection, head: TreeHead) -> None:
    await conn.execute(
        f"INSERT INTO audit_heads ({HEAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
        head.tree_size,
        head.root_hash,
        head.sealed_at,
        head.signature,
        head.public_key,
    )


async def latest_head(conn: Connection) -> TreeHead | None:
    row = await conn.fetchrow(
        f"SELECT {HEAD_COLUMNS} FROM audit_heads ORDER BY tree_size DESC LIMIT 1"
    )
    return None if row is None else _head(row)


async def head_at(conn: Connection, size: int) -> TreeHead | None:
    row = await conn.fetchrow(f"SELECT {HEAD_COLUMNS} FROM audit_heads WHERE tree_size = $1", size)
    return None if row is None else _head(row)


async def all_heads(conn: Connection) -> list[TreeHead]:
    rows = await conn.fetch(f"SELECT {HEAD_COLUMNS} FROM audit_heads ORDER BY tree_size")
    return [_head(r) for r in rows]
