"""Exporting a stretch of the sealed log with what proves it: each event as stored,
its leaf index and hash, its inclusion proof, and the signed head they lead to.

NDJSON: the first line is ``{"kind": "head", ...}`` (the head as ``audit head --json``
prints it), then one ``{"kind": "event", ...}`` line per event. Parquet: one row per
event; the head is in the file's key-value metadata under ``analytics_graph.head``.
Both can be checked offline (``docs/audit.md``): recompute each leaf hash from the
row, then the root from the leaf and its ``audit_path``, and compare with the head.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from analytics_graph.audit import merkle, tree
from analytics_graph.audit.heads import TreeHead
from analytics_graph.audit.leaves import ROW_COLUMNS
from analytics_graph.types import Connection

BATCH = 5_000
FORMATS = ("ndjson", "parquet")


class ExportError(ValueError):
    """The export cannot be made as asked (nothing sealed in the range, a bad format)."""


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")


def _event(row: Any, index: int, leaf: bytes, path: list[bytes]) -> dict[str, Any]:
    return {
        "position": row["position"],
        "leaf_index": index,
        "leaf_hash": leaf.hex(),
        "stream_id": row["stream_id"],
        "stream_version": row["stream_version"],
        "type": row["type"],
        "event_id": None if row["event_id"] is None else str(row["event_id"]),
        "occurred_at": _iso(row["occurred_at"]),
        "recorded_at": _iso(row["recorded_at"]),
        "data": row["data"],
        "state": None if row["state"] is None else bytes(row["state"]).hex(),
        "audit_path": [p.hex() for p in path],
    }


async def covering_head(conn: Connection) -> TreeHead:
    head = await tree.latest_head(conn)
    if head is None:
        raise ExportError("nothing is sealed yet")
    return head


async def events(
    conn: Connection, start: int, end: int, head: TreeHead
) -> AsyncIterator[list[dict[str, Any]]]:
    """The sealed events with ``start <= position <= end``, in batches, with proofs
    against ``head`` (events beyond it are left out)."""
    after = start - 1
    sql = (
        f"SELECT {ROW_COLUMNS} FROM events WHERE position > $1 AND position <= $2 "
        "ORDER BY position LIMIT $3"
    )
    size = head.tree_size
    while rows := await conn.fetch(sql, after, end, BATCH):
        after = rows[-1]["position"]
        first = await tree.leaf_index(conn, rows[0]["position"], size)
        if first is None:
            first = await _first_sealed_after(conn, rows[0]["position"], size)
            if first is None:
                return
        positions = await tree.leaf_positions(conn, first, min(first + len(rows), size))
        indexed = {p: first + i for i, p in enumerate(positions)}
        chosen = [(r, indexed[r["position"]]) for r in rows if r["position"] in indexed]
        yield await _with_proofs(conn, chosen, size)
        if len(chosen) < len(rows):
            return


async def _first_sealed_after(conn: Connection, position: int, size: int) -> int | None:
    later = await conn.fetchval("SELECT min(position) FROM events WHERE position > $1", position)
    return None if later is None else await tree.leaf_index(conn, int(later), size)


async def _with_proofs(
    conn: Connection, chosen: list[tuple[Any, int]], size: int
) -> list[dict[str, Any]]:
    recorder = merkle.Recorder()
    for _, index in chosen:
        recorder(0, index)
        merkle.inclusion_path(recorder, index, size)
    nodes = await tree.fetch_nodes(conn, recorder.wanted)

    def node(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    return [
        _event(row, index, node(0, index), merkle.inclusion_path(node, index, size))
        for row, index in chosen
    ]


async def write_ndjson(
    conn: Connection, start: int, end: int, output: IO[str]
) -> tuple[int, TreeHead]:
    head = await covering_head(conn)
    output.write(json.dumps({"kind": "head", **head.to_json()}) + "\n")
    count = 0
    async for batch in events(conn, start, end, head):
        for event in batch:
            output.write(json.dumps({"kind": "event", **event}, ensure_ascii=False) + "\n")
        count += len(batch)
    return count, head


async def write_parquet(
    conn: Connection, start: int, end: int, path: Path, metadata: dict[str, str] | None = None
) -> tuple[int, TreeHead]:
    """Writes the Parquet file; ``metadata``: more key-value metadata beside the head."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    head = await covering_head(conn)
    schema = pa.schema(
        [
            ("position", pa.int64()),
            ("leaf_index", pa.int64()),
            ("leaf_hash", pa.string()),
            ("stream_id", pa.string()),
            ("stream_version", pa.int64()),
            ("type", pa.string()),
            ("event_id", pa.string()),
            ("occurred_at", pa.string()),
            ("recorded_at", pa.string()),
            ("data", pa.string()),
            ("state", pa.string()),
            ("audit_path", pa.list_(pa.string())),
        ],
        metadata={"analytics_graph.head": json.dumps(head.to_json()), **(metadata or {})},
    )
    count = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        async for batch in events(conn, start, end, head):
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count, head
