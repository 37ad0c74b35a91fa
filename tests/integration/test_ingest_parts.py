"""``analytics-graph ingest FILE --writers N`` in N processes, each on a contiguous part
of the file: run as a subprocess against a fresh database. Where a part starts is
computed here from the file (the rule of the README), not asked of the code."""

from __future__ import annotations

import asyncio
import bisect
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from analytics_graph.config import Settings
from analytics_graph.eventstore import EventStore
from analytics_graph.ingest import parts
from analytics_graph.ingest.ndjson import BOM
from analytics_graph.ingest.outcome import Summary
from analytics_graph.simulation import SimulationConfig, World, aggregate_events, generate_world
from tests.cli import cli_environment, running

CONFIG = SimulationConfig(seed=21, accounts=4, events=6_000, weeks=1, duplicate_ratio=0.0)


def command(database_url: str, *args: str) -> tuple[list[str], dict[str, str]]:
    env = cli_environment({"ANALYTICS_GRAPH_DATABASE_URL": database_url})
    return [sys.executable, "-m", "analytics_graph", "ingest", *args], env


async def ingest(
    database_url: str, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    argv, env = command(database_url, *args)
    text = None if stdin is None else stdin.decode()
    run = subprocess.run
    return await asyncio.to_thread(
        run, argv, env=env, input=text, capture_output=True, text=True, timeout=120, check=False
    )


async def world_in(store: EventStore) -> World:
    world = generate_world(CONFIG)
    await store.append(aggregate_events(world))
    return world


def encoded(events: Sequence[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(event) + b"\n" for event in events]


def redelivered(lines: Sequence[bytes], gap: int = 3) -> list[bytes]:
    """Every line twice, again after the next ``gap`` lines: wherever the file is cut
    between two lines, some event has a delivery on each side."""
    out: list[bytes] = []
    for i, line in enumerate(lines):
        out.append(line)
        if i >= gap:
            out.append(lines[i - gap])
    out.extend(lines[-gap:])
    return out


def part_starts(content: bytes, count: int) -> list[int]:
    """The 0-based indexes of the lines that start the non-empty parts: part k starts
    at the first line starting at or after k * size / count."""
    offsets = [0]
    for line in content.splitlines(keepends=True)[:-1]:
        offsets.append(offsets[-1] + len(line))
    targets = [k * len(content) // count for k in range(count)]
    found = {bisect.bisect_left(offsets, target) for target in targets}
    return sorted(index for index in found if index < len(offsets))


def event_id(line: bytes) -> str:
    return str(orjson.loads(line.removeprefix(BOM))["eventId"])


def figures(output: str) -> dict[str, int]:
    names = ("lines read", "accepted", "duplicates", "rejected")
    return {name: int(re.search(rf"^{name}: (\d+)$", output, re.M)[1]) for name in names}  # type: ignore[index]


async def stored(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    """The stored event ids with their positions; each id once (asserted)."""
    rows = await pool.fetch(
        "SELECT event_id::text, position FROM events WHERE event_id IS NOT NULL"
    )
    ids = [row["event_id"] for row in rows]
    assert len(ids) == len(set(ids))
    return [(row["event_id"], row["position"]) for row in rows]


@pytest.mark.parametrize("writers", [2, 3])
async def test_every_event_id_is_stored_once_across_the_parts(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path, writers: int
) -> None:
    world = await world_in(store)
    lines = redelivered(encoded(list(world.events())[:1_500]))
    content = b"".join(lines)
    path = tmp_path / "events.ndjson"
    path.write_bytes(content)
    ids = [event_id(line) for line in lines]
    starts = part_starts(content, writers)
    assert len(starts) == writers
    for start in starts[1:]:  # re-deliveries straddle every boundary
        assert set(ids[start - 5 : start]) & set(ids[start : start + 5])

    result = await ingest(database_url, str(path), "--writers", str(writers), "--batch-size", "50")

    assert result.returncode == 0, result.stderr
    distinct = set(ids)
    assert figures(result.stdout) == {
        "lines read": len(lines),
        "accepted": len(distinct),
        "duplicates": len(lines) - len(distinct),
        "rejected": 0,
    }
    rows = await stored(pool)
    assert {event for event, _ in rows} == distinct
    # each part reaches the log in file order (ids delivered only within one part)
    position = dict(rows)
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        inside = ids[start:end]
        own = [event for event in dict.fromkeys(inside) if ids.count(event) == inside.count(event)]
        positions = [position[event] for event in own]
        assert positions == sorted(positions)


def corrupted(lines: list[bytes], indexes: Sequence[int]) -> list[bytes]:
    """``lines`` with those given made malformed JSON of the same length (so the parts
    of the file stay where they were)."""
    out = list(lines)
    for index in indexes:
        out[index] = b"{" + b"x" * (len(lines[index]) - 2) + b"\n"
    return out


def bad_file(world: World, path: Path) -> tuple[list[bytes], list[int], list[int]]:
    """900 lines in 3 parts, a malformed line in part 2 (its 2nd batch of 50) and in
    part 3 (its 1st); returns the lines, the bad indexes and the parts' starts."""
    lines = encoded(list(world.events())[:900])
    starts = part_starts(b"".join(lines), 3)
    assert len(starts) == 3
    bad = [starts[1] + 75, starts[2] + 10]
    lines = corrupted(lines, bad)
    path.write_bytes(b"".join(lines))
    assert part_starts(path.read_bytes(), 3) == starts
    return lines, bad, starts


def batch_of(index: int, starts: list[int], total: int, size: int = 50) -> tuple[int, int]:
    """The 0-based first and last index of the batch holding line ``index``: batches
    are counted from the start of each part."""
    part = bisect.bisect_right(starts, index) - 1
    end = starts[part + 1] if part + 1 < len(starts) else total
    first = starts[part] + (index - starts[part]) // size * size
    return first, min(first + size, end) - 1


async def test_a_refused_batch_in_a_later_part_is_written_nowhere(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_in(store)
    path = tmp_path / "bad.ndjson"
    lines, bad, starts = bad_file(world, path)

    result = await ingest(database_url, str(path), "--writers", "3", "--batch-size", "50")

    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert figures(out)["rejected"] == 2 and figures(out)["lines read"] == len(lines)
    refused = [batch_of(index, starts, len(lines)) for index in bad]
    written = [
        event_id(line)
        for index, line in enumerate(lines)
        if not any(first <= index <= last for first, last in refused)
    ]
    assert figures(out)["accepted"] == len(written)
    assert {event for event, _ in await stored(pool)} == set(written)
    reports = [f"line {index + 1}: malformed JSON" for index in bad]
    reports += [
        f"batch of lines {first + 1}-{last + 1} was rejected whole: nothing of it was"
        f" written ({last - first} valid lines not written"
        for first, last in refused
    ]
    where = [out.index(report) for report in reports]
    assert where == sorted(where)  # in line order, rejections before refused batches


async def test_skip_invalid_writes_the_valid_lines_of_every_part(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_in(store)
    path = tmp_path / "bad.ndjson"
    lines, bad, _ = bad_file(world, path)

    result = await ingest(database_url, str(path), "--writers", "3", "--skip-invalid")

    assert result.returncode == 1, result.stderr
    assert "rejected whole" not in result.stdout
    valid = [event_id(line) for index, line in enumerate(lines) if index not in bad]
    assert figures(result.stdout)["accepted"] == len(valid)
    assert {event for event, _ in await stored(pool)} == set(valid)
    for index in bad:
        assert f"line {index + 1}: malformed JSON" in result.stdout


async def test_a_byte_order_mark_is_skipped_at_the_start_of_the_file_only(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_in(store)
    lines = encoded(list(world.events())[:400])
    lines[0] = BOM + lines[0]
    (_, second) = part_starts(b"".join(lines), 2)
    lines[second] = BOM + lines[second]  # 3 bytes more: the part still starts there
    path = tmp_path / "bom.ndjson"
    path.write_bytes(b"".join(lines))
    assert part_starts(path.read_bytes(), 2) == [0, second]

    result = await ingest(database_url, str(path), "--writers", "2", "--skip-invalid")

    assert result.returncode == 1, result.stderr
    assert figures(result.stdout)["rejected"] == 1
    assert f"line {second + 1}: malformed JSON" in result.stdout
    valid = {event_id(line) for index, line in enumerate(lines) if index != second}
    assert {event for event, _ in await stored(pool)} == valid


@pytest.mark.parametrize(("count", "writers"), [(1, 2), (2, 3)])
async def test_a_file_of_fewer_lines_than_writers(
    database_url: str,
    store: EventStore,
    pool: asyncpg.Pool,
    tmp_path: Path,
    count: int,
    writers: int,
) -> None:
    world = await world_in(store)
    lines = encoded(list(world.events())[:count])
    path = tmp_path / "few.ndjson"
    path.write_bytes(b"".join(lines))

    result = await ingest(database_url, str(path), "--writers", str(writers))

    assert result.returncode == 0, result.stderr
    assert figures(result.stdout) == {
        "lines read": count,
        "accepted": count,
        "duplicates": 0,
        "rejected": 0,
    }
    assert {event for event, _ in await stored(pool)} == {event_id(line) for line in lines}


async def test_standard_input_with_writers_is_one_process(
    database_url: str, store: EventStore, pool: asyncpg.Pool
) -> None:
    world = await world_in(store)
    lines = redelivered(encoded(list(world.events())[:600]))

    result = await ingest(database_url, "-", "--writers", "2", stdin=b"".join(lines))

    assert result.returncode == 0, result.stderr
    distinct = {event_id(line) for line in lines}
    assert figures(result.stdout)["accepted"] == len(distinct)
    assert {event for event, _ in await stored(pool)} == distinct


POISON = """
CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.event_id = '{id}' THEN RAISE EXCEPTION 'poisoned event'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison();
"""


@pytest.mark.parametrize("failing", [0, 1])
async def test_a_store_failure_in_one_part_stops_them_all_with_3(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path, failing: int
) -> None:
    world = await world_in(store)
    lines = encoded(list(world.events()))
    content = b"".join(lines)
    starts = part_starts(content, 3)
    poisoned = starts[failing] + 10  # in the first batch of that part
    await pool.execute(POISON.format(id=event_id(lines[poisoned])))
    path = tmp_path / "events.ndjson"
    path.write_bytes(content)

    result = await ingest(database_url, str(path), "--writers", "3", "--batch-size", "50")

    assert result.returncode == 3, result.stderr
    assert re.search(r"^stopped: .*poisoned event", result.stdout, re.M), result.stdout
    numbers = figures(result.stdout)
    assert numbers["lines read"] < len(lines)  # the failed part stopped at least
    rows = await stored(pool)
    assert numbers["accepted"] == len(rows)  # every batch written was counted
    first, last = batch_of(poisoned, starts, len(lines))
    assert not {event for event, _ in rows} & {event_id(line) for line in lines[first : last + 1]}
    if failing == 0:  # the others stopped before their parts' ends (40 batches each)
        assert numbers["lines read"] < len(lines) - starts[1]


async def test_an_unreachable_database_exits_with_3(tmp_path: Path) -> None:
    path = tmp_path / "two.ndjson"
    path.write_bytes(b"{}\n" * 1_000)
    result = await ingest("postgresql://postgres@127.0.0.1:1/none", str(path), "--writers", "2")
    assert result.returncode == 3
    assert "database unavailable" in result.stderr


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            if int(fields[1]) == pid:
                found.append(int(name))
    return found


def wait_for(condition: Any, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.02)


async def started(database_url: str, path: Path) -> tuple[asyncio.subprocess.Process, list[int]]:
    """The command on ``path`` with 2 writers, once its child has started."""
    argv, env = command(database_url, str(path), "--writers", "2", "--batch-size", "20")
    process = await asyncio.create_subprocess_exec(*argv, env=env, stdout=subprocess.PIPE)
    await asyncio.to_thread(wait_for, lambda: children_of(process.pid), "a child")
    return process, children_of(process.pid)


async def whole_batches_only(pool: asyncpg.Pool, lines: list[bytes], starts: list[int]) -> None:
    """Every batch (20 lines from each part's start) is stored whole or not at all."""
    ids = {event for event, _ in await stored(pool)}
    for part, start in enumerate(starts):
        end = starts[part + 1] if part + 1 < len(starts) else len(lines)
        for first in range(start, end, 20):
            batch = {event_id(line) for line in lines[first : min(first + 20, end)]}
            assert batch <= ids or not batch & ids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_to_the_command_reaches_its_children(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path, sig: int
) -> None:
    world = await world_in(store)
    lines = encoded(list(world.events()))
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"".join(lines))
    process, children = await started(database_url, path)

    process.send_signal(sig)
    await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode != 0
    await asyncio.to_thread(wait_for, lambda: not any(map(running, children)), "the children")
    await whole_batches_only(pool, lines, part_starts(b"".join(lines), 2))


async def test_a_child_that_dies_fails_the_run_with_3(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_in(store)
    lines = encoded(list(world.events()))
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"".join(lines))
    process, (child,) = await started(database_url, path)

    os.kill(child, signal.SIGKILL)
    out = (await asyncio.wait_for(process.communicate(), 60))[0].decode()

    assert process.returncode == 3, out
    ending = r"^stopped: part 2 of 2 .* ended unexpectedly \(killed by SIGKILL\)$"
    assert re.search(ending, out, re.M), out
    await whole_batches_only(pool, lines, part_starts(b"".join(lines), 2))


async def test_a_child_refuses_a_file_replaced_since_the_command_opened_it(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The child of a part reopens the file by its path: another file by then (renamed,
    replaced) is refused, not ingested."""
    world = await world_in(store)
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"".join(encoded(list(world.events())[:10])))
    opened = os.stat(path)
    replaced = tmp_path / "other.ndjson"
    replaced.write_bytes(path.read_bytes())
    replaced.replace(path)  # same name and content, another file
    request = {
        "path": str(path),
        "part": {"number": 2, "count": 2, "start": 0, "end": None},
        "batch_size": 100,
        "skip_invalid": False,
        "database_url": database_url,
        "file": [opened.st_dev, opened.st_ino],
    }
    env = cli_environment({})
    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "analytics_graph.ingest.parts"],
        input=orjson.dumps(request) + b"\n",
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    summary = orjson.loads(child.stdout)
    assert summary["failure"] == f"{path} was replaced during the run"
    assert summary["accepted"] == 0 and await stored(pool) == []


async def test_a_part_whose_process_cannot_start_stops_those_started(
    database_url: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path, monkeypatch: Any
) -> None:
    """Three writers; the third part's process cannot be started (no process to be had):
    the second, started, stops at a batch boundary, and the run fails naming the part."""
    world = await world_in(store)
    path = tmp_path / "events.ndjson"
    lines = encoded(list(world.events()))
    path.write_bytes(b"".join(lines))
    start = parts.Child.start
    calls: list[int] = []

    async def second_fails(request: parts.Request) -> parts.Child:
        calls.append(request.part.number)
        if request.part.number == 3:
            raise OSError(11, "Resource temporarily unavailable")
        return await start(request)

    monkeypatch.setattr(parts.Child, "start", second_fails)
    settings = Settings(database_url=database_url)
    options = {"batch_size": 100, "skip_invalid": 0, "writers": 3}

    def run() -> Summary | int:
        with path.open("rb") as stream:
            return parts.ingest(settings, str(path), stream, path.stat().st_size, options)

    summary = await asyncio.to_thread(run)
    assert isinstance(summary, Summary) and calls == [2, 3]
    assert summary.failure is not None and summary.failure.startswith(
        "could not start a process for part 3 of 3"
    )
    assert summary.accepted == len(await stored(pool))  # the second part's whole batches
    assert summary.accepted < len(lines)
