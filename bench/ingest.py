"""Bulk ingest throughput, against what PostgreSQL itself can take.

    python bench/ingest.py --events 1000000 --database-url postgresql://postgres@127.0.0.1:5432/postgres

Generates a simulated world (``analytics_graph.simulation``), writes its events
as NDJSON into a temporary folder, validates them once into log rows, then
measures, each on a fresh scratch database (created here, dropped at the end):

  (a) raw asyncpg COPY of those rows into a table like ``events`` (same columns,
      identity and indexes), 10k rows per transaction: the physical limit;
  (b) ``EventStore.append_bulk`` in 10k batches (dedupe check + COPY), and (b')
      the same with ``optimistic=True`` (COPY first, the check only after a collision)
      on the rows without their re-deliveries, as the ingest command sends them;
  (c) ``analytics-graph ingest FILE`` end to end, in a subprocess (process start,
      parsing, validation, facts, append);
  (d) ``append_bulk`` from 1, 2 and 4 concurrent writers, on the distinct rows
      (re-deliveries spread over nearby batches would make concurrent writers lose
      races and redo whole batches, which measures the data, not the writers);
  (e) the same with ``LOCK TABLE events IN EXCLUSIVE MODE`` at the start of every
      append transaction (the alternative to our skip-free reader), 2 and 4 writers;
  (f) one HTTP collector: ``analytics-graph ingest FILE --url --writers 2`` (10k-line
      requests, two under way at once, so the server validates one while it appends
      the other, as the CLI overlaps them) against ``analytics-graph serve`` (a
      subprocess; projections off, so the figure is the ingest path's: an
      ingest-only node), end to end;
  (g) two collectors at once (one request under way each), each posting half of
      the file; (g0) the same against a server that ingests in its own process
      (``ANALYTICS_GRAPH_INGEST_PROCESSES=0``; (f), (g) and (g') run it with
      ``--ingest-processes`` workers, 2 by default: one per core, as README's
      operations section advises for a node taking a firehose); (g') the same as (g)
      with two requests under way each, as in (f);
  (h) ``analytics-graph ingest FILE --writers 2`` (two processes, each on half of
      the file); (h0) ``analytics-graph ingest - --writers 2 < FILE`` (one process,
      two appends in flight: what (h) was before the parts);
  (d'') ``append_rows`` from 2 writers, the rows made beforehand: the store's other
      bulk entry (the one the ingest path uses since session 12), which skips the
      ``NewEvent`` -> row conversion ``append_bulk`` does per event; printed beside
      the goals as the stricter reading of "the store's bulk append" (its client CPU
      includes making the rows, before the clock starts).

The comparisons of issue 16 are taken in turns in one run, each pair adjacent:
(c) then (f); (d, 2 writers) then (g), (g') and (h).

Rates are rows stored per second (re-delivered duplicates are not stored). On a
shared machine, ``--repeat 2`` keeps each phase's least disturbed run (with
``--http-only``: runs its six phases in rounds, printing each round's ratios); the
client CPU seconds (this process and its children: the CLI, the collectors, the
server with its start) show where the time went.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from analytics_graph.auth import Role, issue_token
from analytics_graph.database import create_pool, scratch_database
from analytics_graph.eventstore import EventStore, NewEvent
from analytics_graph.eventstore.formats import COPY_COLUMNS, FactRow
from analytics_graph.eventstore.schema import migrated_scratch
from analytics_graph.eventstore.store import _row
from analytics_graph.ingest import Ingestor
from analytics_graph.ingest.ndjson import read_batches
from analytics_graph.simulation import (
    SimulationConfig,
    aggregate_events,
    generate_world,
    write_ndjson,
)

BATCH = 10_000
A = "(a) raw COPY, 10k per transaction"
B = "(b) append_bulk, 10k batches"
C = "(c) analytics-graph ingest FILE (end to end)"
D2 = "(d) append_bulk, 2 writers, distinct ids"
F = "(f) one HTTP collector, 2 requests in flight"
G = "(g) two HTTP collectors at once"
G0 = "(g0) the same, the server ingesting in-process"
G2 = "(g') two HTTP collectors, 2 requests in flight each"
H = "(h) analytics-graph ingest --writers 2"
H0 = "(h0) the same from stdin: one process"
D2_ROWS = "(d'') append_rows, 2 writers, rows made before"
SECRET = "bench-ingest-signing-secret-of-32-bytes-at-least"


INGEST_PROCESSES = 2
"""The default of ``--ingest-processes``, the server's ingest workers: one per core of
this machine, as for a node that takes a firehose (README, "Bulk ingest over HTTP")."""

PREFIX = os.environ.get("ANALYTICS_GRAPH_BENCH_DATABASE_PREFIX", "ag_bench")
"""Of the scratch databases' names (as ``bench/live.py``'s: two benchmarks at once)."""


def scratch(server: str, *, migrated: bool = True) -> contextlib.AbstractAsyncContextManager[str]:
    """A fresh database (migrated), dropped afterwards."""
    if migrated:
        return migrated_scratch(server, PREFIX)
    return scratch_database(server, PREFIX)


@contextlib.asynccontextmanager
async def store_on(
    url: str, writers: int, cls: type[EventStore] = EventStore
) -> AsyncIterator[EventStore]:
    pool = await create_pool(url, min_size=writers, max_size=writers)
    try:
        yield cls(pool)
    finally:
        await pool.close()


class LockingStore(EventStore):
    """``append_bulk`` with a table lock around each append (bench only)."""

    async def _copy_fresh(
        self,
        ids: list[uuid.UUID | None],
        fresh_of: Callable[[set[uuid.UUID]], list[FactRow]],
        *,
        check: bool,
    ) -> tuple[int, int | None]:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            fresh = fresh_of(await self._stored_ids(conn, ids) if check else set())
            if fresh:
                await conn.copy_records_to_table("events", records=fresh, columns=COPY_COLUMNS)
        return len(fresh), None


@dataclass
class Figures:
    rows: int
    repeat: int
    results: dict[str, float]
    cpu: dict[str, float]

    def record(self, label: str, seconds: float, client: float, server: float) -> None:
        rate = self.rows / seconds
        self.results[label] = rate
        self.cpu[label] = client + server
        cpu = f"CPU client {client:5.1f} s, server {server:5.1f} s"
        load = f"load {os.getloadavg()[0]:.1f}"
        print(f"{label:<48} {rate:>9,.0f} rows/s  ({seconds:6.2f} s; {cpu}; {load})", flush=True)


class ServerCpu:
    """CPU seconds of the PostgreSQL backends serving one database, read from ``/proc``
    (a server on this machine only; 0 otherwise). Sampled every 0.2 s, so a backend
    that ends between samples loses at most that much."""

    def __init__(self, server: str, url: str) -> None:
        self.server, self.database = server, url.rsplit("/", 1)[1].partition("?")[0]
        self.seen: dict[int, float] = {}
        self._tick = os.sysconf("SC_CLK_TCK")

    async def __aenter__(self) -> ServerCpu:
        self._conn = await asyncpg.connect(self.server)
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *_: object) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._sample()
        await self._conn.close()

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())

    async def _poll(self) -> None:
        while True:
            await self._sample()
            await asyncio.sleep(0.2)

    async def _sample(self) -> None:
        sql = "SELECT pid FROM pg_stat_activity WHERE datname = $1"
        for (pid,) in await self._conn.fetch(sql, self.database):
            with contextlib.suppress(OSError, IndexError, ValueError):
                self.seen[pid] = _cpu_ticks(pid) / self._tick


def batches(rows: Sequence[NewEvent], size: int = BATCH) -> Iterator[Sequence[NewEvent]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def prepare(url: str, path: Path, config: SimulationConfig) -> list[NewEvent]:
    """Validates the file once (against the world's aggregates) into log rows."""
    world = generate_world(config)
    async with store_on(url, 2) as store:
        await store.append(aggregate_events(world))
        ingestor = Ingestor(store)
        validations = []
        started = time.perf_counter()
        with path.open("rb") as stream:
            for batch in read_batches(stream, BATCH):
                validation = await ingestor.validator.lines(
                    batch.lines, first_line=batch.first_line
                )
                assert validation.ok, validation.rejections[:3]
                validations.append(validation)
        seconds = time.perf_counter() - started
    # The NewEvents the validated rows stand for (data: the payload's JSON text).
    rows = [event for validation in validations for event in validation.events]
    print(f"{'validation only (parse, facts, normalise)':<48} {len(rows) / seconds:>12,.0f} ev/s")
    return rows


async def raw_copy(url: str, unique: Sequence[NewEvent]) -> float:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE copy_target (LIKE events INCLUDING ALL)")
        records = [_row(e) for e in unique]
        started = time.perf_counter()
        for start in range(0, len(records), BATCH):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "copy_target", records=records[start : start + BATCH], columns=COPY_COLUMNS
                )
        return time.perf_counter() - started
    finally:
        await conn.close()


async def bulk(
    url: str, rows: Sequence[NewEvent], writers: int, cls: type[EventStore], optimistic: bool
) -> float:
    async with store_on(url, writers, cls) as store:
        queue = iter(list(batches(rows)))

        async def writer() -> None:
            for batch in queue:  # shared: each batch goes to one writer
                await store.append_bulk(batch, optimistic=optimistic)

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        return time.perf_counter() - started


async def bulk_rows(url: str, rows: Sequence[NewEvent], writers: int) -> float:
    """``append_rows`` of the rows of ``rows``, made before the clock starts."""
    async with store_on(url, writers, EventStore) as store:
        queue = iter([[_row(e) for e in batch] for batch in batches(rows)])

        async def writer() -> None:
            for batch in queue:
                await store.append_rows(batch)

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        return time.perf_counter() - started


async def cli_ingest(url: str, path: Path, config: SimulationConfig) -> float:
    async with store_on(url, 1) as store:
        await store.append(aggregate_events(generate_world(config)))
    command = [str(Path(sys.executable).with_name("analytics-graph")), "ingest", str(path)]
    env = {**os.environ, "ANALYTICS_GRAPH_DATABASE_URL": url}
    started = time.perf_counter()
    done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest failed ({done.returncode}):\n{done.stdout.decode()[-2000:]}")
    return seconds


def _command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("analytics-graph")), *args]


async def _load_world(url: str, config: SimulationConfig) -> None:
    async with store_on(url, 1) as store:
        await store.append(aggregate_events(generate_world(config)))


async def cli_writers(
    url: str, path: Path, config: SimulationConfig, writers: int, *, stdin: bool = False
) -> float:
    """``ingest FILE --writers N`` (N processes, each on a part of the file), or with
    ``stdin`` ``ingest - --writers N < FILE`` (one process, N appends at once)."""
    await _load_world(url, config)
    command = _command("ingest", "-" if stdin else str(path), "--writers", str(writers))
    env = {**os.environ, "ANALYTICS_GRAPH_DATABASE_URL": url}
    started = time.perf_counter()
    with path.open("rb") as given:
        source = given if stdin else None

        def run() -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(command, stdin=source, env=env, capture_output=True)

        done = await asyncio.to_thread(run)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest failed ({done.returncode}):\n{done.stdout.decode()[-2000:]}")
    return seconds


@contextlib.asynccontextmanager
async def http_server(url: str, folder: Path, processes: int) -> AsyncIterator[tuple[str, int]]:
    """``analytics-graph serve`` on ``url`` (projections off; ``processes`` ingest
    workers), until the block exits; yields its address and process id."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_GRAPH_")},
        "ANALYTICS_GRAPH_DATABASE_URL": url,
        "ANALYTICS_GRAPH_SECRET": SECRET,
        "ANALYTICS_GRAPH_MODE": "production",
        "ANALYTICS_GRAPH_RUN_PROJECTIONS": "false",
        "ANALYTICS_GRAPH_DATA_DIR": str(folder),
        "ANALYTICS_GRAPH_INGEST_PROCESSES": str(processes),
    }
    command = _command("serve", "--port", str(port))
    server = await asyncio.create_subprocess_exec(
        *command, env=env, stderr=asyncio.subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                await asyncio.to_thread(urllib.request.urlopen, base + "/healthz", timeout=2)
                break
            except OSError:
                await asyncio.sleep(0.1)
        yield base, server.pid
    finally:
        server.terminate()
        await server.wait()


async def http_collectors(
    url: str,
    paths: Sequence[Path],
    config: SimulationConfig,
    folder: Path,
    *,
    processes: int,
    in_flight: int = 1,
) -> float:
    """Seconds for ``len(paths)`` collectors posting one file each at once (server up,
    with ``processes`` ingest workers), each with up to ``in_flight`` requests under
    way. The server's CPU includes its workers'."""
    await _load_world(url, config)
    token = issue_token(SECRET, Role.INGEST)
    async with http_server(url, folder, processes) as (base, pid):
        options = ["--url", base, "--token", token, "--writers", str(in_flight)]
        commands = [_command("ingest", str(p), *options) for p in paths]
        started, ticks = time.perf_counter(), _tree_ticks(pid)
        runs = [asyncio.to_thread(subprocess.run, c, capture_output=True) for c in commands]
        probing = asyncio.create_task(_probe(base))
        done = await asyncio.gather(*runs)
        seconds = time.perf_counter() - started
        serving = (_tree_ticks(pid) - ticks) / os.sysconf("SC_CLK_TCK")
        print(f"    (next line) the server with its workers used {serving:.1f} s of CPU"
              " meanwhile")  # fmt: skip
        probing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probing
        delays = sorted(PROBES)
        PROBES.clear()
        if delays:
            p50, p99 = delays[len(delays) // 2], delays[int(len(delays) * 0.99)]
            worst = delays[-1]
            print(f"    (next line) a request needing no database meanwhile: p50 {p50:.1f} ms,"
                  f" p99 {p99:.1f} ms, max {worst:.1f} ms ({len(delays)} requests)")  # fmt: skip
    for result in done:
        if result.returncode != 0:
            raise SystemExit(f"collector failed ({result.returncode}): {result.stdout[-2000:]!r}")
    return seconds


PROBES: list[float] = []


async def _probe(base: str) -> None:
    """Times a request that needs no database (a 404) every 20 ms: how long the
    server's event loop makes other requests wait while it ingests."""
    import http.client

    def once() -> float:
        connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=30)
        started = time.perf_counter()
        connection.request("GET", "/probe")
        connection.getresponse().read()
        connection.close()
        return (time.perf_counter() - started) * 1000

    while True:
        PROBES.append(await asyncio.to_thread(once))
        await asyncio.sleep(0.02)


def halves(path: Path) -> list[Path]:
    lines = path.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    parts = [path.with_suffix(".1.ndjson"), path.with_suffix(".2.ndjson")]
    parts[0].write_bytes(b"".join(lines[:middle]))
    parts[1].write_bytes(b"".join(lines[middle:]))
    return parts


async def stored(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events WHERE event_id IS NOT NULL"))
    finally:
        await conn.close()


async def http_phases(
    server: str,
    figures: Figures,
    path: Path,
    config: SimulationConfig,
    folder: Path,
    distinct: Sequence[NewEvent],
    processes: int,
) -> None:
    """Only the comparisons of issue 16, in turns: rounds of (c) (f) (d2) (g) (g0) (g') (h)
    (h0) (d''), each round's ratios printed, then the ratios of each phase's best run
    over the rounds (``--repeat`` rounds: a slow spell then disturbs one round, not one
    phase)."""
    parts = halves(path)
    phases: list[tuple[str, Callable[[str], Any]]] = [
        (C, lambda u: cli_ingest(u, path, config)),
        (F, lambda u: http_collectors(u, [path], config, folder, processes=processes, in_flight=2)),
        (D2, bulk_of(distinct, 2, EventStore)),
        (G, lambda u: http_collectors(u, parts, config, folder, processes=processes)),
        (G0, lambda u: http_collectors(u, parts, config, folder, processes=0)),
        (G2, lambda u: http_collectors(u, parts, config, folder, processes=processes, in_flight=2)),
        (H, lambda u: cli_writers(u, path, config, 2)),
        (H0, lambda u: cli_writers(u, path, config, 2, stdin=True)),
        (D2_ROWS, lambda u: bulk_rows(u, distinct, 2)),
    ]
    rounds = Figures(figures.rows, 1, {}, {})
    for number in range(1, figures.repeat + 1):
        print(f"round {number} (load {os.getloadavg()[0]:.2f}):", flush=True)
        for label, body in phases:
            await phase(server, rounds, label, body)
            if rounds.results[label] > figures.results.get(label, 0):
                figures.results[label] = rounds.results[label]
                figures.cpu[label] = rounds.cpu[label]
        print_goals(rounds, f"round {number}:")
    if figures.repeat > 1:
        print_goals(figures, "best of each phase:")


def print_goals(figures: Figures, title: str = "") -> None:
    r = figures.results
    also = f" (g'/d2 = {r[G2] / r[D2]:.2f})" if G2 in r else ""
    also += f" (g0/d2 = {r[G0] / r[D2]:.2f})" if G0 in r else ""
    print(f"{title} f/c = {r[F] / r[C]:.2f} (goal >= 0.7)   g/d2 = {r[G] / r[D2]:.2f}"
          f" (goal >= 0.7){also}   h/d2 = {r[H] / r[D2]:.2f} (goal >= 0.8)"
          f"   (load {os.getloadavg()[0]:.2f})", flush=True)  # fmt: skip
    if D2_ROWS in r:
        without = f"   (g0/d'' = {r[G0] / r[D2_ROWS]:.2f})" if G0 in r else ""
        without += f"   (h0/d'' = {r[H0] / r[D2_ROWS]:.2f})" if H0 in r else ""
        print(f"{' ' * len(title)} against (d''): g/d'' = {r[G] / r[D2_ROWS]:.2f}"
              f"   h/d'' = {r[H] / r[D2_ROWS]:.2f}{without}", flush=True)  # fmt: skip
    print(flush=True)


async def run(
    server: str,
    config: SimulationConfig,
    folder: Path,
    repeat: int,
    *,
    http_only: bool = False,
    processes: int = INGEST_PROCESSES,
) -> None:
    """Every phase (or, ``http_only``, issue 16's), the servers with ``processes`` ingest
    workers (but in (g0))."""
    conn = await asyncpg.connect(server)
    fsync = await conn.fetchval("SHOW fsync")
    commit = await conn.fetchval("SHOW synchronous_commit")
    await conn.close()
    print(f"PostgreSQL fsync={fsync} synchronous_commit={commit}; load {os.getloadavg()[0]:.2f}")
    path = folder / "events.ndjson"
    started = time.perf_counter()
    with path.open("wb") as stream:
        write_ndjson(generate_world(config).events(), stream)
    print(f"generated {config.events:,} events in {time.perf_counter() - started:.1f} s")
    async with scratch(server) as url:
        rows = await prepare(url, path, config)
    distinct = list({e.event_id: e for e in reversed(rows)}.values())[::-1]
    unique = len(distinct)
    print(f"{len(rows):,} events, {unique:,} distinct ids (rows to store)\n")
    gc.collect()
    gc.freeze()  # the prepared rows stay out of the collector's scans
    figures = Figures(unique, repeat, {}, {})
    if http_only:
        await http_phases(server, figures, path, config, folder, distinct, processes)
        return
    parts = halves(path)
    await phase(server, figures, A, lambda u: raw_copy(u, distinct))
    await phase(server, figures, B, bulk_of(rows, 1, EventStore))
    await phase(server, figures, "(b') append_bulk optimistic, distinct ids",
                bulk_of(distinct, 1, EventStore, optimistic=True))  # fmt: skip
    await phase(server, figures, C, lambda u: cli_ingest(u, path, config))
    await phase(server, figures, F,
                lambda u: http_collectors(u, [path], config, folder, processes=processes,
                                          in_flight=2))  # fmt: skip
    for writers in (1, 2, 4):
        await phase(server, figures, f"(d) append_bulk, {writers} writers, distinct ids",
                    bulk_of(distinct, writers, EventStore))  # fmt: skip
        if writers == 2:
            await phase(server, figures, G,
                        lambda u: http_collectors(u, parts, config, folder,
                                                  processes=processes))  # fmt: skip
            await phase(server, figures, H, lambda u: cli_writers(u, path, config, 2))
    for writers in (2, 4):
        await phase(server, figures, f"(e) table lock, {writers} writers, distinct ids",
                    bulk_of(distinct, writers, LockingStore))  # fmt: skip
    a, b, c = (figures.results[label] for label in (A, B, C))
    print(f"\nb/a = {b / a:.2f}   c/a = {c / a:.2f}   (load {os.getloadavg()[0]:.2f})")
    print_goals(figures)
    cpu_a, cpu_c = (figures.cpu[label] for label in (A, C))
    print(f"CPU per row (client + server): a {cpu_a / figures.rows * 1e6:.1f} us, c "
          f"{cpu_c / figures.rows * 1e6:.1f} us; by CPU, c/a = {cpu_a / cpu_c:.2f}")  # fmt: skip


def bulk_of(
    rows: Sequence[NewEvent], writers: int, cls: type[EventStore], *, optimistic: bool = False
) -> Callable[[str], Any]:
    return lambda url: bulk(url, rows, writers, cls, optimistic)


async def phase(server: str, figures: Figures, label: str, body: Callable[[str], Any]) -> None:
    """Runs ``body`` ``figures.repeat`` times, each on a fresh database; keeps the best time
    (the run least disturbed by other work on the machine) and its CPU seconds: of this
    process and its children (the CLI's, for (c)), and of the PostgreSQL backends."""
    best: tuple[float, float, float] | None = None
    for _ in range(figures.repeat):
        async with scratch(server) as url:
            cpu, children = time.process_time(), _children_cpu()
            async with ServerCpu(server, url) as server_cpu:
                seconds = await body(url)
            client = time.process_time() - cpu + _children_cpu() - children
            used = (client, server_cpu.seconds)
            if not label.startswith("(a)"):
                count = await stored(url)
                assert count == figures.rows, f"{label}: stored {count}, expected {figures.rows}"
        if best is None or seconds < best[0]:
            best = (seconds, *used)
    assert best is not None
    figures.record(label, *best)


def _cpu_ticks(pid: int) -> int:
    """User + system clock ticks of a process (``/proc/PID/stat``, fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _tree_ticks(pid: int) -> int:
    """:func:`_cpu_ticks` of ``pid`` and of its children (the server's ingest workers)."""
    with open(f"/proc/{pid}/task/{pid}/children") as listed:
        children = [int(child) for child in listed.read().split()]
    return _cpu_ticks(pid) + sum(_cpu_ticks(child) for child in children)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each phase; the best time is kept"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "ANALYTICS_GRAPH_TEST_DATABASE_URL", "postgresql://127.0.0.1/postgres"
        ),
        help="a server where this may create and drop databases",
    )
    parser.add_argument(
        "--http-only",
        action="store_true",
        help="only (c), (f), (d, 2 writers), (g), (g0), (g'), (h), (h0), (d'')",
    )
    parser.add_argument(
        "--ingest-processes",
        type=int,
        default=INGEST_PROCESSES,
        help="the server's ingest workers in (f), (g), (g'): ANALYTICS_GRAPH_INGEST_PROCESSES",
    )
    args = parser.parse_args()
    config = SimulationConfig(seed=args.seed, accounts=args.accounts, events=args.events, weeks=8)
    with tempfile.TemporaryDirectory(prefix="ag-bench-") as folder:
        work = run(
            args.database_url,
            config,
            Path(folder),
            args.repeat,
            http_only=args.http_only,
            processes=args.ingest_processes,
        )
        asyncio.run(work)


if __name__ == "__main__":
    main()
