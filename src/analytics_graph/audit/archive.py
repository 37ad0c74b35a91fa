"""An old partition of the log out of the database, still verifiable.

:func:`export_partition` writes every event of a closed, sealed partition to Parquet
with its leaf hash and inclusion proof against the latest signed head (the audit
export's file, ``audit/export.py``), the partition's range in the file's metadata.
:func:`verify_file` checks such a file with nothing but the file (and, better, the
signer's public key): the head's signature, each leaf hash recomputed from its row,
each proof up to the head, and that the leaves are consecutive. :func:`detach` takes
the partition out of the log only against a file that verifies and holds all of its
rows; its range is recorded, and ``audit verify`` takes its sealed leaves as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from analytics_graph.audit import export, tree
from analytics_graph.audit.heads import TreeHead
from analytics_graph.audit.leaves import encode_fields
from analytics_graph.audit.merkle import leaf_hash, root_from_inclusion
from analytics_graph.eventstore import partitions
from analytics_graph.eventstore.reader import wait_until_final
from analytics_graph.types import Connection

PARTITION_KEY = "analytics_graph.partition"


class ArchiveError(ValueError):
    """The partition cannot be exported or detached as asked (the message says why)."""


@dataclass
class FileReport:
    """What :func:`verify_file` checked; ``ok`` when nothing is wrong."""

    partition: dict[str, Any]
    head: TreeHead | None = None
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def closed_partition(conn: Connection, name: str) -> partitions.Partition:
    """The attached partition ``name`` once no append can land in it any more and all
    of it is final and sealed; else :class:`ArchiveError`."""
    found = await partitions.find(conn, name)
    if found is None:
        raise ArchiveError(f"{name}: no such attached partition")
    last = found.upper - 1
    if await partitions.last_drawn(conn) < last:
        raise ArchiveError(f"{name}: still open (the log has not reached position {last})")
    if await wait_until_final(conn) < last:
        raise ArchiveError(f"{name}: appends below position {last} are still in flight")
    sealed, _ = await tree.read_checkpoint(conn)
    if sealed < last:
        raise ArchiveError(f"{name}: sealed up to position {sealed} only, not {last} yet")
    return found


async def _rows(conn: Connection, name: str) -> int:
    return int(await conn.fetchval(f'SELECT count(*) FROM "{name}"'))


async def export_partition(conn: Connection, name: str, path: Path) -> tuple[int, TreeHead]:
    """Writes partition ``name`` with its proofs to ``path`` (Parquet)."""
    part = await closed_partition(conn, name)
    described = {"name": name, "lower": part.lower, "upper": part.upper}
    described["events"] = await _rows(conn, name)
    metadata = {PARTITION_KEY: json.dumps(described)}
    count, head = await export.write_parquet(
        conn, part.lower or 0, part.upper - 1, path, metadata=metadata
    )
    if count != described["events"]:
        raise ArchiveError(f"{name}: {count} of its {described['events']} events are sealed")
    return count, head


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _leaf(row: dict[str, Any]) -> bytes:
    state = row["state"]
    return leaf_hash(
        encode_fields(
            row["position"],
            row["stream_id"],
            row["stream_version"],
            row["type"],
            None if row["event_id"] is None else UUID(row["event_id"]),
            _moment(row["occurred_at"]),
            _moment(row["recorded_at"]),  # type: ignore[arg-type]
            row["data"],
            None if state is None else bytes.fromhex(state),
        )
    )


def _check_row(row: dict[str, Any], head: TreeHead, index: int, part: dict[str, Any]) -> str | None:
    position = row["position"]
    lower = part.get("lower") or 0
    if not lower <= position < part["upper"]:
        return f"position {position}: outside the partition's range"
    if row["leaf_index"] != index:
        return f"position {position}: leaf {row['leaf_index']}, expected {index} (a gap)"
    leaf = _leaf(row)
    if leaf.hex() != row["leaf_hash"]:
        return f"position {position}: the row does not hash to its leaf"
    path = [bytes.fromhex(p) for p in row["audit_path"]]
    try:
        if root_from_inclusion(index, head.tree_size, leaf, path) != head.root_hash:
            return f"position {position}: the proof does not lead to the head's root"
    except ValueError as exc:
        return f"position {position}: {exc}"
    return None


def verify_file(path: Path, public_key: bytes | None = None) -> FileReport:
    """Checks an exported partition offline (see the module doc)."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(str(path))
    meta = {k.decode(): v.decode() for k, v in (file.schema_arrow.metadata or {}).items()}
    report = FileReport(json.loads(meta.get(PARTITION_KEY, "{}")))
    if "upper" not in report.partition or "analytics_graph.head" not in meta:
        report.problems.append("not an exported partition (no partition or head metadata)")
        return report
    head = report.head = TreeHead.from_json(json.loads(meta["analytics_graph.head"]))
    if not head.valid():
        report.problems.append("the head's signature is not valid")
    if public_key is not None and head.public_key != public_key:
        report.problems.append("the head is signed by another key")
    index = None
    for batch in file.iter_batches():
        for row in batch.to_pylist():
            index = row["leaf_index"] if index is None else index + 1
            problem = _check_row(row, head, index, report.partition)
            if problem is not None:
                report.problems.append(problem)
                return report
            report.events += 1
    if report.events != report.partition.get("events"):
        held = report.partition.get("events")
        report.problems.append(f"{report.events} events in the file, the partition held {held}")
    return report


async def detach(conn: Connection, name: str, path: Path) -> int:
    """Detaches partition ``name`` once ``path`` is its verified export; returns its
    number of events. Raises :class:`ArchiveError` (and detaches nothing) otherwise."""
    report = verify_file(path)
    if not report.ok:
        raise ArchiveError(f"{path}: {report.problems[0]}")
    async with conn.transaction():
        part = await closed_partition(conn, name)
        described = report.partition
        if (described["name"], described.get("lower"), described["upper"]) != (
            name,
            part.lower,
            part.upper,
        ):
            raise ArchiveError(f"{path} is the export of {described['name']}, not of {name}")
        if report.events != await _rows(conn, name):
            raise ArchiveError(f"{path} does not hold every event of {name}")
        await conn.execute(f'ALTER TABLE events DETACH PARTITION "{name}"')
        await conn.execute(
            "INSERT INTO event_partitions_detached (name, lower, upper, events, exported_to)"
            " VALUES ($1, $2, $3, $4, $5)",
            name,
            part.lower or 0,
            part.upper,
            report.events,
            str(path),
        )
    return report.events
