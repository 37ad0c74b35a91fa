"""The log partitioned by position range (migration 8) against real PostgreSQL: appends
across a boundary, the deduplication window, and an old partition exported with its
proofs, verified offline and detached while the rest of the log still verifies."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics_graph.audit import export
from analytics_graph.audit.archive import verify_file
from analytics_graph.audit.merkle import root_from_inclusion
from analytics_graph.audit.sealer import catch_up
from analytics_graph.audit.verify import verify
from analytics_graph.errors import ConcurrencyError
from analytics_graph.eventstore import BulkResult, EventStore, LogCursor, NewEvent
from analytics_graph.eventstore import partitions as parts
from analytics_graph.eventstore.store import _row
from analytics_graph.types import Connection
from tests.integration.audit_support import SIGNER, run_cli
from tests.integration.format_support import facts
from tests.integration.test_eventstore import read_settled, stream_event

BOUNDARY = 1 + parts.DEFAULT_SIZE  # where events_1 ends on a fresh database


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(url, "partitions", *args)


async def jump_to(pool: asyncpg.Pool, position: int) -> None:
    """The next position drawn will be ``position`` (a gap, as rolled-back appends leave)."""
    await pool.execute(f"ALTER TABLE events ALTER COLUMN position RESTART WITH {position}")


async def partition_of(pool: asyncpg.Pool) -> dict[int, str]:
    rows = await pool.fetch("SELECT position, tableoid::regclass::text AS p FROM events")
    return {r["position"]: r["p"] for r in rows}


async def test_a_fresh_log_has_partitions_ahead(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        found = await parts.attached(conn)
        assert [(p.name, p.lower, p.upper) for p in found] == [
            ("events_0", None, 1),
            ("events_1", 1, BOUNDARY),
            (f"events_{BOUNDARY}", BOUNDARY, BOUNDARY + parts.DEFAULT_SIZE),
        ]
        assert await parts.create_ahead(conn, ahead=2) == []
        added = await parts.create_ahead(conn, ahead=4, size=1_000)
        top = BOUNDARY + parts.DEFAULT_SIZE
        assert added == [f"events_{top}", f"events_{top + 1_000}"]
        triggers = await conn.fetch(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE c.relname LIKE 'events_%' AND t.tgname LIKE 'events_append_only%'"
        )
    names = {p.name for p in found} | set(added)
    for name in names:  # every partition refuses UPDATE, DELETE and TRUNCATE
        assert {t["tgname"] for t in triggers if t["relname"] == name} == {
            "events_append_only_rows",
            "events_append_only_truncate",
        }


async def test_appends_cross_a_boundary_in_order_with_stream_versions_kept(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await store.append([stream_event("s", 1), stream_event("s", 2)])
    await store.append_bulk(facts(5, seed=1))
    await jump_to(pool, BOUNDARY - 3)
    await store.append_bulk(facts(6, seed=2))  # three on each side
    await store.append([stream_event("s", 3)])
    with pytest.raises(ConcurrencyError):  # version 2 lies in the partition before
        await store.append([stream_event("s", 2)])
    where = await partition_of(pool)
    assert sorted(set(where.values())) == ["events_1", f"events_{BOUNDARY}"]
    assert [p for p, name in where.items() if name == "events_1"][-3:] == [
        BOUNDARY - 3, BOUNDARY - 2, BOUNDARY - 1,
    ]  # fmt: skip
    seen = await read_settled(store, LogCursor())
    assert [e.position for e in seen] == sorted(where)
    assert [e.stream_version for e in await store.read_stream("s")] == [1, 2, 3]


async def test_nodes_keep_partitions_ahead_of_the_log_without_racing(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    """What ``serve`` runs (``keep_ahead``): once appends reach the last partition, it
    adds partitions until two lie wholly ahead again; two nodes at once add each once."""
    async with pool.acquire() as conn:
        last = (await parts.attached(conn))[-1]
    assert last.lower is not None
    await jump_to(pool, last.lower + 1)
    await store.append_bulk(facts(3, seed=9))  # now drawing from the last partition
    expected = [f"events_{last.upper}", f"events_{last.upper + parts.DEFAULT_SIZE}"]
    nodes = [asyncio.create_task(parts.keep_ahead(pool, interval=0.05)) for _ in range(2)]
    try:
        async with asyncio.timeout(30):
            while True:
                async with pool.acquire() as conn:
                    names = [p.name for p in await parts.attached(conn)]
                if names[-2:] == expected:
                    break
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # several more turns of both: nothing more to add
    finally:
        for node in nodes:
            node.cancel()
        await asyncio.gather(*nodes, return_exceptions=True)
    for node in nodes:  # ran until cancelled: no turn failed out of the loop
        assert node.cancelled()
    async with pool.acquire() as conn:
        after = [p.name for p in await parts.attached(conn)]
    assert after[after.index(last.name) + 1 :] == expected


@pytest.mark.parametrize("optimistic", [False, True], ids=["checked", "optimistic"])
async def test_an_event_id_counts_once_across_attached_partitions(
    pool: asyncpg.Pool, store: EventStore, optimistic: bool
) -> None:
    first = facts(20, seed=3)
    await store.append_bulk(first)
    await jump_to(pool, BOUNDARY - 5)
    crossing = await store.append_bulk([*facts(10, seed=4), *first], optimistic=optimistic)
    assert (crossing.accepted, crossing.duplicates) == (10, 20)
    again = await store.append_bulk(first, optimistic=optimistic)  # from the newer partition
    assert (again.accepted, again.duplicates) == (0, 20)
    assert await pool.fetchval("SELECT count(*) FROM events") == 30
    assert await pool.fetchval("SELECT count(DISTINCT event_id) FROM events") == 30


async def until(pool: asyncpg.Pool, sql: str, unless: asyncio.Task[object] | None = None) -> None:
    """Polls ``sql`` until it is true (or the task ``unless`` has ended)."""
    async with asyncio.timeout(30):
        while not await pool.fetchval(sql) and not (unless and unless.done()):  # noqa: ASYNC110 - server state
            await asyncio.sleep(0.02)


Appender = Callable[[list[NewEvent]], Coroutine[Any, Any, BulkResult]]
WAITING = "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = '{}'"


def bulk_entry(store: EventStore, entry: str, optimistic: bool) -> Appender:
    """``append_bulk`` of the events, or ``append_rows`` of their rows (the ingest's)."""
    if entry == "rows":
        return lambda events: store.append_rows([_row(e) for e in events], optimistic=optimistic)
    return lambda events: store.append_bulk(events, optimistic=optimistic)


@pytest.mark.parametrize("entry", ["bulk", "rows"])
@pytest.mark.parametrize("optimistic", [False, True], ids=["checked", "optimistic"])
@pytest.mark.parametrize("crossing", [False, True], ids=["after-the-boundary", "crossing-it"])
async def test_two_open_appends_of_one_id_on_both_sides_of_a_boundary_store_it_once(
    database_url: str,
    pool: asyncpg.Pool,
    store: EventStore,
    entry: str,
    optimistic: bool,
    crossing: bool,
) -> None:
    """The race no unique index sees: an append holding an id in events_1, not committed
    yet, while another stores the same id in the next partition (which it reached
    before starting, or by crossing the boundary itself). The second waits for the
    first, then counts the id as a duplicate."""
    held, double, *fillers = facts(5, seed=11)
    await jump_to(pool, BOUNDARY - 4)
    other = await asyncpg.connect(database_url)
    try:
        blocker = other.transaction()
        await blocker.start()
        await store.append([held], conn=other)  # BOUNDARY - 4, not committed
        # double at BOUNDARY - 3, then waits on the held id's index entry: open in events_1
        append = bulk_entry(store, entry, optimistic)
        first = asyncio.create_task(append([double, held]))
        await until(pool, WAITING.format("transactionid"))
        if not crossing:  # the log has moved on to the next partition
            await pool.execute("SELECT setval(pg_get_serial_sequence('events', 'position'), $1)",
                               BOUNDARY + 5)  # fmt: skip
        batch = [*fillers, double] if crossing else [double]  # fillers: BOUNDARY - 2 .. 0
        second = asyncio.create_task(append(batch))
        await until(pool, WAITING.format("advisory"), second)
        assert not second.done(), "the second append did not wait for the first"
        await blocker.rollback()
    finally:
        await other.close()
    assert (await first).accepted == 2
    result = await second
    assert (result.accepted, result.duplicates) == (len(batch) - 1, 1)
    where = await pool.fetch("SELECT tableoid::regclass::text AS p FROM events WHERE event_id = $1",
                             double.event_id)  # fmt: skip
    assert [r["p"] for r in where] == ["events_1"]
    assert await pool.fetchval("SELECT count(*) FROM events") == 2 + len(batch) - 1


async def filled(pool: asyncpg.Pool, store: EventStore) -> None:
    """events_1 closed (events of both formats and aggregates), some events after it."""
    await store.append([stream_event("acct", 1)])
    await store.append_bulk(facts(300, seed=5))
    await store.append_bulk(
        [
            NewEvent("v", "view", None, f.event_id, f.occurred_at, {"odd": 1})
            for f in facts(5, seed=6)
        ]
    )  # fmt: skip  (format 1: not a view's shape)
    await jump_to(pool, BOUNDARY - 2)
    await store.append_bulk(facts(50, seed=7))


async def test_export_verify_offline_and_detach(
    database_url: str, pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    await filled(pool, store)
    file = tmp_path / "events_1.parquet"
    refused = cli(database_url, "export", "events_1", "-o", str(file))
    assert refused.returncode == 1 and "sealed up to position 0" in refused.stderr
    await catch_up(database_url, SIGNER)
    head_partition = f"events_{BOUNDARY}"
    open_one = cli(database_url, "export", head_partition, "-o", str(tmp_path / "x.parquet"))
    assert open_one.returncode == 1 and "still open" in open_one.stderr

    done = cli(database_url, "export", "events_1", "-o", str(file))
    assert done.returncode == 0, done.stderr
    in_partition = await pool.fetchval("SELECT count(*) FROM events_1")
    assert f"{in_partition} events of events_1 written" in done.stdout
    checked = cli(database_url, "verify", str(file), "--public-key", SIGNER.public_key.hex())
    assert checked.returncode == 0, checked.stderr
    assert f"{in_partition} events of events_1 verified" in checked.stdout

    detached = cli(database_url, "detach", "events_1", "--export", str(file))
    assert detached.returncode == 0, detached.stderr
    async with pool.acquire() as conn:
        assert "events_1" not in {p.name for p in await parts.attached(conn)}
        report = await verify(conn)
        assert report.ok, report.findings
    await store.append_bulk(facts(20, seed=8))
    size = await catch_up(database_url, SIGNER)
    async with pool.acquire() as conn:
        assert (await verify(conn)).ok
        await proofs_still_hold(conn, size)
    assert (await store.read_log(0, 1))[0].position >= BOUNDARY


async def proofs_still_hold(conn: Connection, size: int) -> None:
    """The attached events' inclusion proofs lead to the newest head."""
    head = await export.covering_head(conn)
    assert head.tree_size == size
    count = 0
    async for batch in export.events(conn, 0, 2**62, head):
        for event in batch:
            leaf, path = bytes.fromhex(event["leaf_hash"]), map(bytes.fromhex, event["audit_path"])
            assert (
                root_from_inclusion(event["leaf_index"], size, leaf, list(path)) == head.root_hash
            )
            count += 1
    assert count == await conn.fetchval("SELECT count(*) FROM events")


async def test_a_changed_export_fails_offline_and_is_not_detached_against(
    database_url: str, pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    await filled(pool, store)
    await catch_up(database_url, SIGNER)
    file, changed = tmp_path / "good.parquet", tmp_path / "changed.parquet"
    assert cli(database_url, "export", "events_1", "-o", str(file)).returncode == 0
    table = pq.read_table(file)
    rows = table.to_pylist()
    rows[7]["data"] = rows[7]["data"].replace('"type"', '"typE"')
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), changed)
    report = verify_file(changed)
    assert not report.ok and report.problems[0] == (
        f"position {rows[7]['position']}: the row does not hash to its leaf"
    )
    failed = cli(database_url, "verify", str(changed))
    assert failed.returncode == 1 and "does not hash to its leaf" in failed.stderr
    refused = cli(database_url, "detach", "events_1", "--export", str(changed))
    assert refused.returncode == 1 and "does not hash to its leaf" in refused.stderr
    async with pool.acquire() as conn:
        assert "events_1" in {p.name for p in await parts.attached(conn)}


async def test_the_list_and_create_commands(database_url: str, store: EventStore) -> None:
    await store.append_bulk(facts(3, seed=9))
    created = cli(database_url, "create", "--ahead", "3", "--size", "500")
    top = BOUNDARY + parts.DEFAULT_SIZE
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"created events_{top}, events_{top + 500}"
    again = cli(database_url, "create", "--ahead", "3")
    assert again.stdout.strip() == "3 partitions ahead already"
    listed = cli(database_url, "list")
    assert listed.returncode == 0, listed.stderr
    states = {line.split()[1]: line.split()[-2] for line in listed.stdout.splitlines()
              if line.startswith("│ events_")}  # fmt: skip
    assert states == {"events_0": "closed", "events_1": "filling", f"events_{BOUNDARY}": "ahead",
                      f"events_{top}": "ahead", f"events_{top + 500}": "ahead"}  # fmt: skip
