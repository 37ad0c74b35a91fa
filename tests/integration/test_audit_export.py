"""Export of a stretch of the sealed log, checked offline as an auditor would: each
leaf recomputed from the exported row, each proof leading to the signed head's root."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pyarrow.parquet as pq

from analytics_graph.audit.heads import TreeHead
from analytics_graph.audit.sealer import catch_up
from analytics_graph.eventstore import EventStore
from tests.integration import audit_rfc6962 as rfc
from tests.integration.audit_support import SIGNER, append_mixed
from tests.integration.test_audit_tamper import cli

ROOT = Path(__file__).resolve().parents[2]


def documented_verifier() -> str:
    """The ~30-line verifier of docs/audit.md, as printed there."""
    text = (ROOT / "docs" / "audit.md").read_text()
    section = text.split("## Checking an export offline")[1]
    return section.split("```python\n")[1].split("```")[0]


def run_documented_verifier(folder: Path, export: Path) -> subprocess.CompletedProcess[str]:
    verifier = folder / "verifier.py"
    verifier.write_text(documented_verifier())
    return subprocess.run(
        [sys.executable, str(verifier), str(export)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def check_offline(head: dict[str, Any], events: list[dict[str, Any]]) -> None:
    root = bytes.fromhex(head["rootHash"])
    for event in events:
        row = {
            **event,
            "event_id": None if event["event_id"] is None else uuid.UUID(event["event_id"]),
            "occurred_at": event["occurred_at"] and datetime.fromisoformat(event["occurred_at"]),
            "recorded_at": datetime.fromisoformat(event["recorded_at"]),
            "state": None if event["state"] is None else bytes.fromhex(event["state"]),
        }
        leaf = rfc.leaf_of(row)
        assert leaf.hex() == event["leaf_hash"]
        path = [bytes.fromhex(p) for p in event["audit_path"]]
        assert rfc.verify_inclusion(event["leaf_index"], head["treeSize"], leaf, path, root)


async def test_export_ndjson_and_parquet_check_offline(
    database_url: str, pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    await append_mixed(store, 700, seed=9)
    assert await catch_up(database_url, SIGNER) == 700
    positions = [r[0] for r in await pool.fetch("SELECT position FROM events ORDER BY position")]
    start, end = positions[100], positions[649]

    done = cli(database_url, "export", "--from", str(start), "--to", str(end),
               "--format", "ndjson", "-o", str(tmp_path / "log.ndjson"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (tmp_path / "log.ndjson").read_text().splitlines()]
    head, events = lines[0], lines[1:]
    assert head["kind"] == "head" and head["treeSize"] == 700
    assert TreeHead.from_json({k: v for k, v in head.items() if k != "kind"}).valid()
    assert [e["position"] for e in events] == positions[100:650]
    assert [e["leaf_index"] for e in events] == list(range(100, 650))
    check_offline(head, events)
    checked = run_documented_verifier(tmp_path, tmp_path / "log.ndjson")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "550 events verified against the head of size 700"

    done = cli(database_url, "export", "--from", str(start), "--to", str(end),
               "--format", "parquet", "-o", str(tmp_path / "log.parquet"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pq.read_table(tmp_path / "log.parquet")
    parquet_head = json.loads(table.schema.metadata[b"analytics_graph.head"])
    assert parquet_head == {k: v for k, v in head.items() if k != "kind"}
    assert table.to_pylist() == [{k: v for k, v in e.items() if k != "kind"} for e in events]

    assert cli(database_url, "export", "--from", "1", "--to", "2", "--format", "csv",
               "-o", str(tmp_path / "x")).returncode == 2  # fmt: skip
