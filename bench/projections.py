"""Projection throughput and live lag.

    python bench/projections.py --events 1000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres

On a scratch database (created here, dropped at the end), with a simulated world
of ``--events`` engagement events (``analytics_graph.simulation``, through ingest):

  (a) the raw sequential read of the log in 10k pages, asyncpg rows, and through
      ``EventStore.read_next`` (decoded): what a reader of the log cannot beat;
  (b) a replay from position 0 through every projection (``projections.ALL``, one
      runner, each projection on its own connection): events/s until all have
      caught up (and as a multiple of the raw read's), and the projection backends'
      CPU time; the first batch of each projection with a ``fill`` (the reach and
      viewer audiences) is up to ``RunnerOptions.fill_size`` events;
  (c) live lag: a runner in another process follows the log while this one ingests
      fresh events at ``--rate`` events/s for ``--seconds``; for each ingested batch,
      the time from its commit to the moment every projection has published a
      change notice at or past its last position (the numbers are visible then):
      p50 and p99;
  (d) with ``--layouts``: the read-model layouts measured for ranged reach and
      retention (``bench/layouts.py``): exact viewer-day gap histograms against
      HyperLogLog sketches, retention rows against arrays; fold and query times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from analytics_graph.database import create_pool
from analytics_graph.eventstore import EventStore, LogCursor
from analytics_graph.eventstore.notify import Listener, Notifier
from analytics_graph.eventstore.schema import migrated_scratch
from analytics_graph.ingest import Ingestor
from analytics_graph.projection import ChangeNotice, Projection, ProjectionRunner, RunnerOptions
from analytics_graph.projection.notices import change_feed
from analytics_graph.simulation import SimulationConfig, World, generate_world, load_world

PAGE = 10_000


def read_models() -> tuple[Projection, ...]:
    """``projections.ALL``. Run as ``python bench/projections.py``, this file's folder
    comes first on the path, where ``projections`` would name this very script."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    found: tuple[Projection, ...] = importlib.import_module("projections").ALL
    return found


def layouts() -> Any:
    """``bench/layouts.py`` (the project root put on the path for ``bench``)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.append(root)
    return importlib.import_module("bench.layouts")


def scratch(server: str) -> contextlib.AbstractAsyncContextManager[str]:
    """A fresh, migrated database, dropped afterwards."""
    return migrated_scratch(server, "ag_bench")


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f} events/s  ({count:,} in {seconds:.2f} s)"


async def raw_reads(store: EventStore) -> float:
    """Prints both reads; returns the raw read's events/s (the replay's yardstick)."""
    sql = "SELECT * FROM events WHERE position > $1 ORDER BY position LIMIT $2"
    start, position, count = time.perf_counter(), 0, 0
    while rows := await store.pool.fetch(sql, position, PAGE):
        position, count = rows[-1]["position"], count + len(rows)
    raw = count / (time.perf_counter() - start)
    print(f"(a) raw read, asyncpg rows, 10k pages:     {rate(count, time.perf_counter() - start)}")
    start, cursor, count = time.perf_counter(), LogCursor(), 0
    while batch := await store.read_next(cursor, PAGE):
        count += len(batch)
    print(f"    EventStore.read_next, 10k, decoded:    {rate(count, time.perf_counter() - start)}")
    return raw


def backend_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by these server processes (same machine only)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / 100
    return total


async def worker_pids(store: EventStore, count: int) -> list[int]:
    """The server processes of the runner's workers, once they are all connected."""
    sql = """
        SELECT pid FROM pg_stat_activity
        WHERE application_name = $1 AND datname = current_database()
    """
    for _ in range(500):
        pids = [r[0] for r in await store.pool.fetch(sql, "analytics-graph-projection")]
        if len(pids) >= count:
            break
        await asyncio.sleep(0.002)
    return pids


async def replay(url: str, store: EventStore, batch: int, raw: float) -> None:
    head, count = await store.last_position(), int(await store.pool.fetchval(
        "SELECT count(*) FROM events"
    ))  # fmt: skip
    finished: dict[str, float] = {}
    start = time.perf_counter()
    options = RunnerOptions(batch_size=batch)
    async with ProjectionRunner(url, store, None, read_models(), options) as runner:
        pids = await worker_pids(store, len(runner.workers))
        while len(finished) < len(runner.workers):
            for name, worker in runner.workers.items():
                if name not in finished and (worker.position or 0) >= head:
                    finished[name] = time.perf_counter() - start
            await asyncio.sleep(0.005)
        cpu = backend_cpu(pids)
    seconds = max(finished.values())
    print(f"(b) replay through all projections:        {rate(count, seconds)}"
          f" = {count / seconds / raw:.2f}x the raw read")  # fmt: skip
    each = ", ".join(f"{n} {s:.2f} s" for n, s in finished.items())
    print(f"    caught up: {each}; backend CPU {cpu:.1f} s (batches of {batch:,})")


def live_events(world: World, rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Fresh events on the world's live videos, happening now."""
    videos = [v for v in world.videos if v.deleted_at is None]
    now = datetime.now(UTC).isoformat()
    out: list[dict[str, Any]] = []
    for _ in range(count):
        video, user = rng.choice(videos), f"user-{rng.randrange(world.config.users):06d}"
        event: dict[str, Any] = {"eventId": str(uuid.uuid4()), "occurredAt": now}
        if rng.random() < 0.97:
            watched = round(video.duration_seconds * rng.random(), 2)
            event |= {"type": "view", "videoId": str(video.id), "viewerId": user,
                      "watchedSeconds": watched, "source": "FOR_YOU"}  # fmt: skip
        else:
            event |= {"type": rng.choice(("follow", "unfollow")),
                      "accountId": str(video.account_id), "followerId": user}  # fmt: skip
        out.append(event)
    return out


async def ingest_live(
    store: EventStore, world: World, events_per_second: int, seconds: float
) -> list[tuple[int, float]]:
    """Ingests (validation and append) at the given rate, in 20 batches a second;
    returns (last position, commit time) per batch. Events are made up beforehand."""
    per_batch, interval = max(1, events_per_second // 20), 0.05
    rng, ticks = random.Random(3), int(seconds / interval)
    batches = [live_events(world, rng, per_batch) for _ in range(ticks)]
    ingestor, sent = Ingestor(store, max_batch=10_000), []
    start = time.monotonic()
    for tick, batch in enumerate(batches):
        await asyncio.sleep(max(0.0, start + tick * interval - time.monotonic()))
        outcome = await ingestor.ingest_events(batch)
        assert not outcome.rejections, outcome.rejections[0]
        sent.append((await store.last_position(), time.monotonic()))
    achieved = len(sent) * per_batch / (time.monotonic() - start)
    print(f"(c) live: ingested {len(sent) * per_batch:,} events at {achieved:,.0f} events/s")
    return sent


def lags(sent: list[tuple[int, float]], notices: list[tuple[ChangeNotice, float]]) -> list[float]:
    """Per batch: from its commit until every projection noticed a position past it."""
    names = {p.name for p in read_models()}
    out = []
    for position, committed in sent:
        first: dict[str, float] = {}
        for notice, seen in notices:
            if notice.position >= position and notice.projection in names:
                first.setdefault(notice.projection, seen)
        if first.keys() == names:
            out.append(max(first.values()) - committed)
    return out


async def live(url: str, store: EventStore, world: World, args: argparse.Namespace) -> None:
    runner = await asyncio.create_subprocess_exec(sys.executable, __file__, "--follow", url)
    notices: list[tuple[ChangeNotice, float]] = []
    try:
        async with change_feed(url) as feed:
            with feed.subscribe() as subscription:

                async def collect() -> None:
                    async for notice in subscription:
                        notices.append((notice, time.monotonic()))

                collector = asyncio.create_task(collect())
                await asyncio.sleep(2)  # the runner connects and catches up
                sent = await ingest_live(store, world, args.rate, args.seconds)
                await asyncio.sleep(2)
                collector.cancel()
    finally:
        runner.terminate()
        await runner.wait()
    measured = sorted(lags(sent, notices))
    p50 = statistics.median(measured) * 1000
    p99 = measured[min(len(measured) - 1, int(len(measured) * 0.99))] * 1000
    print(f"    lag append -> visible in every read model: p50 {p50:.0f} ms, p99 {p99:.0f} ms"
          f" ({len(measured)} of {len(sent)} batches)")  # fmt: skip


async def follow(url: str) -> None:
    """The runner process of (c): follows the log until terminated."""
    pool = await create_pool(url, min_size=1, max_size=4)
    async with Notifier(url) as notifier, Listener(url) as listener:
        store = EventStore(pool, notifier)
        async with ProjectionRunner(url, store, listener, read_models()):
            await asyncio.Event().wait()


async def main(args: argparse.Namespace) -> None:
    config = SimulationConfig(seed=7, accounts=20, events=args.events)
    world = generate_world(config)
    async with scratch(args.database_url) as url:
        pool = await create_pool(url, min_size=2, max_size=8)
        async with Notifier(url) as notifier:
            store = EventStore(pool, notifier)
            started = time.perf_counter()
            report = await load_world(world, store)
            print(f"loaded {report.accepted:,} events ({report.duplicates:,} re-deliveries "
                  f"dropped) in {time.perf_counter() - started:.1f} s")  # fmt: skip
            print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
            raw = await raw_reads(store)
            await replay(url, store, args.batch, raw)
            if args.layouts:
                await layouts().compare(store)
            if args.seconds > 0:
                await live(url, store, world, args)
        await pool.close()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=RunnerOptions().batch_size)
    parser.add_argument("--rate", type=int, default=20_000, help="live ingest, events/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="live ingest duration")
    parser.add_argument("--layouts", action="store_true", help="(d): reach/retention layouts")
    parser.add_argument("--follow", metavar="URL", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.follow:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(follow(arguments.follow))
    else:
        asyncio.run(main(arguments))
