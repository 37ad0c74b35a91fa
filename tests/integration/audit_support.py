"""Events of every shape for the audit tests, and sealing them."""

from __future__ import annotations

import random
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analytics_graph.audit.heads import Signer
from analytics_graph.eventstore import EventStore, NewEvent
from analytics_graph.eventstore.formats import payload_text
from analytics_graph.types import Connection
from tests import cli

SIGNER = Signer.from_hex("11" * 32)


def run_cli(url: str, *args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``analytics-graph ARGS`` in a subprocess on ``url``, signing with :data:`SIGNER`'s
    key, no other ``ANALYTICS_GRAPH_`` setting of this environment."""
    settings = {"ANALYTICS_GRAPH_DATABASE_URL": url, "ANALYTICS_GRAPH_SIGNING_KEY": "11" * 32}
    if data_dir is not None:
        settings["ANALYTICS_GRAPH_DATA_DIR"] = str(data_dir)
    return cli.run_cli(settings, *args)


START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def engagement(i: int, rng: random.Random) -> NewEvent:
    return NewEvent(
        stream_id=f"video-{rng.randrange(50)}",
        type=rng.choice(["view", "like", "follow", "vidéo✓"]),
        event_id=uuid.UUID(int=rng.getrandbits(128)),
        occurred_at=START + timedelta(microseconds=rng.randrange(10**12)),
        data={"i": i, "z": "ünïcode ✓", "a": [1, 2.5, None, True], "nested": {"b": 1, "a": "x"}},
    )


async def append_mixed(store: EventStore, count: int, seed: int = 1) -> None:
    """``count`` events: engagement facts in bulk, and every 10th an aggregate event."""
    rng = random.Random(seed)
    bulk: list[NewEvent] = []
    versions: dict[str, int] = {}
    for i in range(count):
        if i % 10 == 9:
            if bulk:
                await store.append_bulk(bulk)
                bulk = []
            stream = f"acct-{seed}-{rng.randrange(5)}"
            versions[stream] = versions.get(stream, 0) + 1
            state = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            await store.append([NewEvent(stream, "Account.Changed", versions[stream], state=state)])
        else:
            bulk.append(engagement(i, rng))
    if bulk:
        await store.append_bulk(bulk)


async def rows(conn: Connection) -> list[dict[str, Any]]:
    """Every event with its payload as stored (the jsonb text), in log order."""
    found = await conn.fetch(
        "SELECT position, stream_id, stream_version, type, event_id, occurred_at, recorded_at, "
        f"{payload_text()} AS data, state FROM events ORDER BY position"
    )
    return [dict(r) for r in found]


async def append_engagement(store: EventStore, count: int, seed: int = 1) -> None:
    """``count`` engagement facts, in bulk appends of 10,000."""
    rng = random.Random(seed)
    for low in range(0, count, 10_000):
        await store.append_bulk(
            [engagement(i, rng) for i in range(low, min(low + 10_000, count))], optimistic=True
        )
