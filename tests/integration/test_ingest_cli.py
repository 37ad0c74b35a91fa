"""``analytics-graph ingest`` end to end, on a fresh database (CliRunner in a worker thread,
so the command's own ``asyncio.run`` has a thread of its own)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from typer.testing import CliRunner, Result

from analytics_graph.cli import cli
from analytics_graph.eventstore import EventStore
from analytics_graph.simulation import (
    SimulationConfig,
    World,
    aggregate_events,
    generate_world,
    write_ndjson,
)

CONFIG = SimulationConfig(seed=9, accounts=4, events=2_500, weeks=1)


async def invoke(database_url: str, *args: str, stdin: bytes | None = None) -> Result:
    env = {"ANALYTICS_GRAPH_DATABASE_URL": database_url}

    def run() -> Result:
        return CliRunner().invoke(cli, ["ingest", *args], input=stdin, env=env)

    return await asyncio.to_thread(run)


async def world_in(store: EventStore) -> World:
    world = generate_world(CONFIG)
    await store.append(aggregate_events(world))
    return world


def ndjson(path: Path, events: list[dict[str, Any]], extra: dict[int, bytes]) -> Path:
    """Writes ``events`` with raw lines inserted before the given (0-based) indexes."""
    with path.open("wb") as stream:
        for index, event in enumerate(events):
            if index in extra:
                stream.write(extra[index])
            stream.write(orjson.dumps(event) + b"\n")
    return path


async def count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE event_id IS NOT NULL"))


async def test_a_file_is_ingested_with_a_summary(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_in(store)
    path = tmp_path / "events.ndjson"
    with path.open("wb") as stream:
        write_ndjson(world.events(), stream)
    unique = len({e["eventId"] for e in world.events()})
    result = await invoke(database_url, str(path), "--batch-size", "1000")
    assert result.exit_code == 0, result.output
    assert f"accepted: {unique}\n" in result.output
    assert f"duplicates: {2_500 - unique}\n" in result.output
    assert "rejected: 0\n" in result.output
    assert await count(pool) == unique
    again = await invoke(database_url, str(path))
    assert again.exit_code == 0 and "accepted: 0\n" in again.output
    assert await count(pool) == unique


async def test_a_batch_with_bad_lines_is_written_not_at_all(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_in(store)
    events = list(world.events())[:30]
    bad = {3: b"\n", 7: b"[1, 2]\n", 12: b"{oops\n", 20: b'{"type": "view"}\n'}
    path = ndjson(tmp_path / "bad.ndjson", events, bad)
    result = await invoke(database_url, str(path), "--batch-size", "20")
    assert result.exit_code == 1
    out = result.output
    assert "rejected: 3\n" in out
    assert "line 4" not in out  # a blank line is skipped, not rejected
    assert "line 9: an event must be a JSON object" in out
    assert "line 15: malformed JSON" in out
    assert "line 24: eventId: is required" in out
    assert "batch of lines 1-20 was rejected whole: nothing of it was written (17 valid" in out
    assert "batch of lines 21-34 was rejected whole: nothing of it was written (13 valid" in out
    assert await count(pool) == 0


async def test_skip_invalid_writes_the_valid_lines(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_in(store)
    events = list(world.events())[:30]
    unknown = {**events[0], "eventId": "00000000-0000-4000-8000-000000000001"}
    unknown["videoId" if "videoId" in unknown else "accountId"] = (
        "00000000-0000-4000-8000-00000000000f"
    )
    path = ndjson(tmp_path / "mixed.ndjson", events, {5: orjson.dumps(unknown) + b"\n"})
    result = await invoke(database_url, str(path), "--skip-invalid")
    assert result.exit_code == 1
    assert "rejected: 1\n" in result.output and "line 6: " in result.output
    assert "unknown" in result.output and "rejected whole" not in result.output
    assert await count(pool) == len({e["eventId"] for e in events})


async def test_standard_input_and_the_cap_on_listed_rejections(
    database_url: str, store: EventStore, pool: asyncpg.Pool
) -> None:
    await world_in(store)
    result = await invoke(database_url, "-", stdin=b"{}\n" * 25)
    assert result.exit_code == 1
    assert "rejected: 25\n" in result.output
    assert result.output.count(": type: is required") == 20
    assert "... and 5 more rejected lines" in result.output
    assert await count(pool) == 0


async def test_an_unreadable_file_exits_with_2(database_url: str, tmp_path: Path) -> None:
    result = await invoke(database_url, str(tmp_path / "missing.ndjson"))
    assert result.exit_code == 2
    assert "cannot read" in result.output


async def test_an_unreachable_database_exits_with_3(tmp_path: Path) -> None:
    path = tmp_path / "one.ndjson"
    path.write_bytes(b"{}\n")
    result = await invoke("postgresql://postgres@127.0.0.1:1/none", str(path))
    assert result.exit_code == 3
    assert "database unavailable" in result.output
