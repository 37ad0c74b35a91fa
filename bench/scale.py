"""How the system behaves as the log grows, and reads spread over replicas.

    python bench/scale.py --sizes 1000000 10000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres

(1) Growth, on a scratch database of the given server (created here, dropped at
    the end). A simulated world (``--seed-events`` events, through the real ingest)
    is grown to each size by copying its engagement rows with fresh event ids, in
    SQL (the same rows, days and videos: the read models keep their size, the log
    grows). At each size, after ``VACUUM ANALYZE``:

    - bytes per stored event: the table, its indexes, and both with TOAST
      (``pg_total_relation_size``) over the row count;
    - ingest: ``EventStore.append_bulk`` (the checked path: look the ids up, COPY)
      of ``--ingest-batches`` batches of 10k new events, events/s;
    - the idempotency check: ``append_bulk`` of 10k ids already stored (all
      duplicates: the lookup alone), microseconds per id;
    - replay: every projection rebuilt from position 0 (tables dropped, one runner),
      events/s until all have caught up;
    - the dashboard query (uncached: every request asks for another account or
      range), served by the app in a subprocess, one client: p50 ms and req/s.

(2) Reads over replicas, on a throwaway primary with two hot standbys (``initdb``,
    ``pg_basebackup -R``, free ports; never the shared server) holding a world of
    ``--read-events`` events: uncached dashboard req/s at ``--concurrency``, from
    one API process on the primary alone, then from two API processes reading
    from the two replicas (the load split between them), in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path, where bench/graphql.py
# would pass for the `graphql` library: put the project root there instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402

from analytics_graph.auth import Role, issue_token  # noqa: E402
from analytics_graph.database import create_pool, scratch_database, with_database  # noqa: E402
from analytics_graph.eventstore import EventStore, NewEvent  # noqa: E402
from analytics_graph.eventstore.formats import FORMAT_COLUMNS, payload_text  # noqa: E402
from analytics_graph.projection import ProjectionRunner, RunnerOptions, wait_until_applied  # noqa: E402
from analytics_graph.projection.projector import rebuild_schema  # noqa: E402
from bench.graphql import DASHBOARD, SECRET, load  # noqa: E402
from bench.graphql_load import Result, Targets, hammer, requests_for  # noqa: E402
from bench.projections import backend_cpu, worker_pids  # noqa: E402
from projections import ALL  # noqa: E402
from tests.cluster import throwaway_cluster  # noqa: E402

BATCH = 10_000
GROW_CHUNK = 1_000_000
# Rows of either format copied as they are stored (format 2: its columns; format 1:
# the JSON, with the new id inside).
GROW_SQL = f"""
INSERT INTO events (stream_id, type, event_id, occurred_at, data, {", ".join(FORMAT_COLUMNS)})
SELECT stream_id, type, id, occurred_at, jsonb_set(data, '{{eventId}}', to_jsonb(id::text)),
       {", ".join(FORMAT_COLUMNS)}
FROM (SELECT *, gen_random_uuid() AS id
      FROM events WHERE event_id IS NOT NULL AND position <= $1
      ORDER BY position LIMIT $2) s
"""
# Summed over the partitions (a partitioned table has no storage of its own).
SIZES_SQL = """
SELECT (SELECT count(*) FROM events) AS n,
       (SELECT count(*) FROM events WHERE format IS NOT NULL) AS compact,
       sum(pg_relation_size(relid)) AS heap, sum(pg_indexes_size(relid)) AS indexes,
       sum(pg_total_relation_size(relid)) AS total
FROM pg_partition_tree('events') WHERE isleaf
"""
PAYLOADS_SQL = f"""
SELECT stream_id, type, event_id, occurred_at, {payload_text()} AS data FROM events
"""


def scratch(server: str, prefix: str = "ag_scale") -> contextlib.AbstractAsyncContextManager[str]:
    return scratch_database(server, prefix)


# ---------------------------------------------------------------- (1) growth


async def grow(conn: asyncpg.Connection, seed_last: int, target: int) -> None:
    """Copies engagement rows of the seed (positions <= ``seed_last``) until the log
    holds ``target`` rows, a million per transaction."""
    while (have := int(await conn.fetchval("SELECT count(*) FROM events"))) < target:
        async with conn.transaction():
            await conn.execute("SELECT pg_current_xact_id()")
            await conn.execute(GROW_SQL, seed_last, min(GROW_CHUNK, target - have))


async def seed_rows(conn: asyncpg.Connection, count: int) -> list[NewEvent]:
    sql = PAYLOADS_SQL + " WHERE event_id IS NOT NULL ORDER BY position LIMIT $1"
    return events_of(await conn.fetch(sql, count))


def events_of(rows: Sequence[asyncpg.Record]) -> list[NewEvent]:
    """The rows as events to append (payloads as the ingest makes them: dicts)."""
    return [
        NewEvent(r["stream_id"], r["type"], None, event_id=r["event_id"],
                 occurred_at=r["occurred_at"], data=orjson.loads(r["data"]))
        for r in rows
    ]  # fmt: skip


def fresh(template: Sequence[NewEvent]) -> list[NewEvent]:
    """The template's events under new ids (the payload's ``eventId`` too)."""
    out = []
    for event in template:
        new_id = uuid.uuid4()
        out.append(replace(event, event_id=new_id, data={**event.data, "eventId": str(new_id)}))
    return out


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure_ingest(
    store: EventStore, template: list[NewEvent], batches: int
) -> tuple[float, float]:
    """Events/s, and CPU microseconds per event (the server backend's and this
    process's: what a busy machine's wall-clock figures hide)."""
    pid = await store.pool.fetchval("SELECT pg_backend_pid()")  # a pool of one connection
    total, cpu, client = 0, backend_cpu([pid]), own_cpu()
    started = time.perf_counter()
    for _ in range(batches):
        total += (await store.append_bulk(fresh(template))).accepted
    seconds = time.perf_counter() - started
    used = backend_cpu([pid]) - cpu + own_cpu() - client
    return total / seconds, used / total * 1e6


async def measure_idempotency(store: EventStore, conn: asyncpg.Connection, rounds: int) -> float:
    """Microseconds per id of a batch whose ids are all stored (random ones)."""
    sql = PAYLOADS_SQL.replace("FROM events", "FROM events TABLESAMPLE SYSTEM (1)")
    events = events_of(
        await conn.fetch(sql + " WHERE event_id IS NOT NULL LIMIT $1", BATCH * rounds)
    )
    started = time.perf_counter()
    for start in range(0, len(events), BATCH):
        result = await store.append_bulk(events[start : start + BATCH])
        assert result.accepted == 0
    return (time.perf_counter() - started) / max(len(events), 1) * 1e6


async def measure_replay(
    url: str, store: EventStore, conn: asyncpg.Connection
) -> tuple[float, float]:
    """Events/s of every projection rebuilt from 0 (their tables dropped first), and the
    projection backends' CPU microseconds per event (all projections together)."""
    for projection in ALL:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{projection.schema}" CASCADE')
        await conn.execute(f'DROP SCHEMA IF EXISTS "{rebuild_schema(projection.name)}" CASCADE')
    await conn.execute("DROP TABLE IF EXISTS projection_checkpoints")
    position = int(await conn.fetchval("SELECT max(position) FROM events"))
    count = int(await conn.fetchval("SELECT count(*) FROM events"))
    started = time.perf_counter()
    options = RunnerOptions(poll_interval=0.05)
    async with ProjectionRunner(url, store, None, ALL, options) as runner:
        pids = await worker_pids(store, len(runner.workers))
        await wait_until_applied(conn, ALL, position, within=36_000, interval=0.2)
        seconds = time.perf_counter() - started
        cpu = backend_cpu(pids)
    await conn.execute("VACUUM ANALYZE")
    return count / seconds, cpu / count * 1e6


@contextlib.contextmanager
def api_process(url: str, port: int, replicas: Sequence[str] = ()) -> Iterator[str]:
    """``bench/graphql.py serve-graphql`` on ``url`` (reading from ``replicas``)."""
    env = {**os.environ, "ANALYTICS_GRAPH_DATABASE_URL": url, "ANALYTICS_GRAPH_SECRET": SECRET,
           "ANALYTICS_GRAPH_MODE": "production",
           "ANALYTICS_GRAPH_READ_DATABASE_URL": ",".join(replicas)}  # fmt: skip
    command = [sys.executable, str(ROOT / "bench" / "graphql.py"), "serve-graphql", "--port",
               str(port)]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                raise RuntimeError(f"the API process exited with {process.returncode}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


async def targets_of(url: str) -> Targets:
    from bench.graphql import find_targets

    accounts, videos, by_account = await find_targets(url)
    tokens = [issue_token(SECRET, Role.AUDITOR, uuid.uuid4()) for _ in range(200)]
    return Targets(accounts, videos, tokens, by_account)


async def dashboard(
    bases: Sequence[str], targets: Targets, concurrency: int, secs: float
) -> Result:
    """Uncached dashboard requests against ``bases`` at once (``concurrency`` in all)."""
    vary = requests_for("dashboard", DASHBOARD, targets)["graphql"][1]
    each = max(1, concurrency // len(bases))
    results = await asyncio.gather(*(hammer(b, vary, each, secs) for b in bases))
    latencies = [x for r in results for x in r.latencies]
    return Result(sum(r.requests for r in results), max(r.seconds for r in results), latencies)


async def growth(server: str, args: argparse.Namespace) -> None:
    print("(1) growth of the log", flush=True)
    print(f"{'events':>12} {'B/event':>8} {'heap':>6} {'index':>6} {'ingest ev/s':>12}"
          f" {'cpu us/ev':>10} {'dup check us/id':>16} {'replay ev/s':>12} {'cpu us/ev':>10}"
          f" {'dash p50 ms':>12} {'dash req/s':>11}")  # fmt: skip
    async with scratch(server, args.name_prefix) as url:
        started = time.monotonic()
        await load(url, args.seed_events)
        print(f"  seed world loaded and projected in {time.monotonic() - started:.0f}s", flush=True)
        pool = await create_pool(url, min_size=1, max_size=1)  # one backend to measure
        readers = await create_pool(url, min_size=1, max_size=8)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP TABLE IF EXISTS bench_ready")
            seed_last = int(await conn.fetchval("SELECT max(position) FROM events"))
            store = EventStore(pool)
            template = await seed_rows(conn, BATCH)
            for size in args.sizes:
                started = time.monotonic()
                await grow(conn, seed_last, size)
                await conn.execute("VACUUM ANALYZE events")
                grown = time.monotonic() - started
                row = await conn.fetchrow(SIZES_SQL)
                assert row is not None
                ingest, ingest_cpu = await measure_ingest(store, template, args.ingest_batches)
                check = await measure_idempotency(store, conn, 5)
                replay, replay_cpu = await measure_replay(url, EventStore(readers), conn)
                with api_process(url, 18741) as base:
                    targets = await targets_of(url)
                    one = await dashboard([base], targets, 1, args.seconds)
                n = row["n"]
                print(f"{n:>12,} {row['total'] / n:>8.0f} {row['heap'] / n:>6.0f}"
                      f" {row['indexes'] / n:>6.0f} {ingest:>12,.0f} {ingest_cpu:>10.1f}"
                      f" {check:>16.1f} {replay:>12,.0f} {replay_cpu:>10.1f}"
                      f" {one.percentile(0.5):>12.1f} {one.rate:>11.1f}"
                      f"   (grown in {grown:.0f}s; {row['compact'] / n:.0%} of the rows in"
                      f" format 2; load {load_average()})", flush=True)  # fmt: skip
        finally:
            await conn.close()
            await pool.close()
            await readers.close()


# ---------------------------------------------------------------- (2) replicas


async def replicas(args: argparse.Namespace) -> None:
    print(f"\n(2) dashboard reads, {args.read_events:,} events, uncached, concurrency"
          f" {args.concurrency}, {args.seconds:.0f}s per run", flush=True)  # fmt: skip
    async with throwaway_cluster(standbys=2, options=()) as cluster:
        conn = await asyncpg.connect(cluster.primary_url)
        try:
            await conn.execute("CREATE DATABASE bench")
        finally:
            await conn.close()
        primary = with_database(cluster.primary_url, "bench")
        standbys = [with_database(u, "bench") for u in cluster.standby_urls]
        await load(primary, args.read_events)
        for index in range(2):
            await cluster.caught_up(index, within=600)
        targets = await targets_of(primary)
        for round_ in range(args.rounds):
            with api_process(primary, 18751) as base:
                alone = await dashboard([base], targets, args.concurrency, args.seconds)
            with (
                api_process(primary, 18752, standbys) as first,
                api_process(primary, 18753, standbys) as second,
            ):
                spread = await dashboard([first, second], targets, args.concurrency, args.seconds)
            print(f"  round {round_ + 1}: one API process on the primary: {alone.rate:,.0f} req/s"
                  f" (p50 {alone.percentile(0.5):.1f} ms, p99 {alone.percentile(0.99):.1f} ms);"
                  f" two API processes on two replicas: {spread.rate:,.0f} req/s"
                  f" (p50 {spread.percentile(0.5):.1f} ms, p99 {spread.percentile(0.99):.1f} ms)",
                  flush=True)  # fmt: skip


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--seed-events", type=int, default=200_000)
    parser.add_argument("--ingest-batches", type=int, default=20)
    parser.add_argument("--read-events", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--name-prefix", default="ag_scale", help="of the scratch database")
    parser.add_argument("--skip", choices=["growth", "replicas"], action="append", default=[])
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    if "growth" not in args.skip:
        await growth(args.database_url, args)
    if "replicas" not in args.skip:
        await replicas(args)


if __name__ == "__main__":
    asyncio.run(main(parse()))
