"""The sealed log's figures: cold seal beside the raw log read, live seal lag, verify,
proof latency and the tree's storage per event.

    python bench/audit.py --events 1000000 --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python bench/audit.py --proofs-only 10000000 ...   # proof latency over a synthetic tree

On a fresh scratch database (dropped at the end):

  1. loads ``--events`` engagement rows (view events with realistic JSON payloads,
     written by SQL in 100k transactions, like a bulk ingest);
  2. reads the whole log once (every column, in 100k pages: the raw read rate),
     then seals it cold (``sealer.catch_up``, 100k batches) and reports both rates;
  3. measures the tree's storage (tables, indexes and TOAST) per event;
  4. times ``audit verify`` over the whole log;
  5. times inclusion and consistency proofs at random positions (p50, p99);
  6. runs the server's :class:`Sealer` (woken by LISTEN/NOTIFY) while a writer appends
     ``--rate`` events per second (a batch every ``--interval`` s, in a process of its
     own) for ``--seconds``, and reports the
     lag from each batch's commit to the first head that covers it (p50, p99).

``--proofs-only N`` skips all that and builds the stored tree of ``N`` synthetic
leaves directly (no events), then reports proof latency and storage per leaf.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from analytics_graph.audit import proofs, tree
from analytics_graph.audit.heads import Signer
from analytics_graph.audit.merkle import Builder
from analytics_graph.audit.sealer import Sealer, SealerOptions, catch_up
from analytics_graph.audit.tree import Tail
from analytics_graph.audit.verify import verify
from analytics_graph.database import create_pool
from analytics_graph.eventstore import EventStore, NewEvent
from analytics_graph.eventstore.notify import Listener, Notifier
from analytics_graph.eventstore.schema import migrated_scratch
from analytics_graph.eventstore.store import COLUMNS

SIGNER = Signer.from_hex("42" * 32)
PAGE = 100_000
LOAD_SQL = """
INSERT INTO events (stream_id, type, event_id, occurred_at, data)
SELECT v.id::text, 'view', gen_random_uuid(), t,
       jsonb_build_object('eventId', gen_random_uuid(), 'type', 'view',
         'occurredAt', to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
         'videoId', v.id, 'accountId', a.id, 'viewerId', 'user-' || (g % 50000),
         'watchedSeconds', (g % 600) / 10.0, 'completed', g % 3 = 0, 'source', 'FOR_YOU',
         'viewer', jsonb_build_object('country', 'DE', 'gender', 'FEMALE',
                                      'ageRange', 'AGE_25_34'))
FROM generate_series($1::bigint, $2::bigint) g,
     LATERAL (SELECT md5((g % 500)::text)::uuid AS id) v,
     LATERAL (SELECT md5((g % 40)::text || 'a')::uuid AS id) a,
     LATERAL (SELECT timestamptz '2026-01-01' + (g % 5000000) * interval '1 second' AS t) tt
"""
TREE_TABLES = ("audit_nodes", "audit_leaves", "audit_heads", "audit_checkpoint")


def scratch(server: str) -> contextlib.AbstractAsyncContextManager[str]:
    return migrated_scratch(server, "ag_bench_audit")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(conn: asyncpg.Connection, count: int, start: int = 1) -> None:
    for low in range(start, start + count, PAGE):
        high = min(low + PAGE, start + count) - 1
        async with conn.transaction():
            await conn.execute("SELECT pg_current_xact_id()")
            await conn.execute(LOAD_SQL, low, high)
    await conn.execute("ANALYZE events")


async def raw_read(conn: asyncpg.Connection) -> tuple[int, float]:
    sql = f"SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT {PAGE}"
    started, after, count = time.perf_counter(), 0, 0
    while rows := await conn.fetch(sql, after):
        count += len(rows)
        after = rows[-1]["position"]
    return count, time.perf_counter() - started


async def storage(conn: asyncpg.Connection) -> int:
    total = 0
    for table in TREE_TABLES:
        total += int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table))
    return total


async def proof_latency(conn: asyncpg.Connection, size: int, rounds: int) -> None:
    rng = random.Random(7)
    positions = await tree.leaf_positions(conn, 0, 1)
    assert positions
    inclusion, consistency = [], []
    for _ in range(rounds):
        index = rng.randrange(size)
        (position,) = await tree.leaf_positions(conn, index, index + 1)
        started = time.perf_counter()
        proof = await proofs.inclusion(conn, position, size)
        inclusion.append(time.perf_counter() - started)
        assert proof.leaf_index == index
        started = time.perf_counter()
        await proofs.consistency(conn, rng.randrange(1, size), size)
        consistency.append(time.perf_counter() - started)
    for name, values in (("inclusion", inclusion), ("consistency", consistency)):
        print(
            f"  {name} proof at {size:,} events: p50 {pct(values, 0.5) * 1000:.2f} ms, "
            f"p99 {pct(values, 0.99) * 1000:.2f} ms ({rounds} proofs)"
        )


def view_events(count: int, seed: int) -> list[NewEvent]:
    """``count`` view events like those ingest writes (built before the clock starts)."""
    rng = random.Random(seed)
    videos = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(500)]
    account = str(uuid.UUID(int=rng.getrandbits(128)))
    events = []
    for i in range(count):
        event_id, video = uuid.UUID(int=rng.getrandbits(128)), rng.choice(videos)
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i)
        data = {
            "eventId": str(event_id),
            "type": "view",
            "occurredAt": at.isoformat(),
            "videoId": str(video),
            "accountId": account,
            "viewerId": f"user-{i % 50_000}",
            "watchedSeconds": (i % 600) / 10,
            "completed": i % 3 == 0,
            "source": "FOR_YOU",
        }
        events.append(NewEvent(str(video), "view", event_id=event_id, occurred_at=at, data=data))
    return events


async def write(url: str, rate: int, seconds: float, interval: float) -> None:
    """The writer of the live phase (a process of its own, as ingest would be): appends
    ``rate`` events per second in batches every ``interval`` seconds, printing each
    batch's last position and commit time."""
    per_batch, batches = int(rate * interval), int(seconds / interval)
    planned = view_events(per_batch * batches, seed=3)
    pool = await create_pool(url, min_size=2, max_size=4)
    async with Notifier(url) as notifier:
        store = EventStore(pool, notifier)
        started = time.time()
        for i in range(batches):
            await asyncio.sleep(max(0.0, started + i * interval - time.time()))
            part = planned[i * per_batch : (i + 1) * per_batch]
            await store.append_bulk(part, optimistic=True)
            print(await store.last_position(), time.time(), flush=True)
        print("rate", per_batch * batches / (time.time() - started), flush=True)
    await pool.close()


async def live_lag(url: str, rate: int, seconds: float, interval: float) -> None:
    await catch_up(url, SIGNER)
    sealed: list[tuple[int, float]] = []  # (sealed position, when seen)
    async with Listener(url) as listener:
        sealer = Sealer(url, SIGNER, listener, SealerOptions(poll_interval=0.5))

        async def watch() -> None:
            while True:
                sealed.append((sealer.position, time.time()))
                await asyncio.sleep(0.002)

        async with sealer:
            watcher = asyncio.create_task(watch())
            writer = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--write", url, "--rate", str(rate),
                "--seconds", str(seconds), "--interval", str(interval),
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, _ = await writer.communicate()
            lines = [line.split() for line in out.decode().splitlines()]
            committed = [(int(p), float(t)) for p, t in lines[:-1]]
            achieved = float(lines[-1][1])
            while sealer.position < committed[-1][0]:  # noqa: ASYNC110 - polled like the watcher
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.01)
            watcher.cancel()
    lags, j = [], 0
    for last, at in committed:
        while sealed[j][0] < last:
            j += 1
        lags.append(max(0.0, sealed[j][1] - at))
    print(
        f"  live seal lag at {achieved:,.0f} events/s ({len(committed)} batches of "
        f"{int(rate * interval)}, every {interval * 1000:.0f} ms): "
        f"p50 {pct(lags, 0.5) * 1000:.1f} ms, p99 {pct(lags, 0.99) * 1000:.1f} ms, "
        f"max {max(lags) * 1000:.1f} ms"
    )


async def full(
    url: str, events: int, rate: int, seconds: float, interval: float, rounds: int
) -> None:
    conn = await asyncpg.connect(url, server_settings={"jit": "off"})
    started = time.perf_counter()
    await load(conn, events)
    print(f"loaded {events:,} events in {time.perf_counter() - started:.1f} s")
    count, read_s = await raw_read(conn)
    print(f"  raw log read: {count:,} events in {read_s:.2f} s = {count / read_s:,.0f} events/s")
    started = time.perf_counter()
    size = await catch_up(url, SIGNER, PAGE)
    seal_s = time.perf_counter() - started
    print(
        f"  cold seal:    {size:,} events in {seal_s:.2f} s = {size / seal_s:,.0f} events/s "
        f"({(size / seal_s) / (count / read_s):.2f} x the raw read rate)"
    )
    total = await storage(conn)
    print(f"  tree storage: {total / size:.1f} bytes per event ({total / 2**20:.1f} MiB)")
    started = time.perf_counter()
    report = await verify(conn)
    print(
        f"  audit verify: {report.events:,} events, {report.heads} heads in "
        f"{time.perf_counter() - started:.2f} s (ok: {report.ok})"
    )
    await proof_latency(conn, size, rounds)
    await conn.close()
    await live_lag(url, rate, seconds, interval)


async def synthetic(url: str, size: int, rounds: int) -> None:
    """The stored tree of ``size`` synthetic leaves, written as the sealer would."""
    conn = await asyncpg.connect(url, server_settings={"jit": "off"})
    started = time.perf_counter()
    tail, rng = Tail(Builder(), []), random.Random(10)
    step = 1_000_000
    for low in range(0, size, step):
        count = min(step, size - low)
        old = tail.size
        leaves = [rng.randbytes(32) for _ in range(count)]
        tail.builder.extend(leaves)
        async with conn.transaction():
            await tree.save(conn, tail, old, list(range(low + 1, low + count + 1)))
    head = SIGNER.sign(tail.size, tail.builder.root(), datetime.now(UTC))
    await tree.insert_head(conn, head)
    print(
        f"built a stored tree of {size:,} synthetic leaves in {time.perf_counter() - started:.0f} s"
    )
    total = await storage(conn)
    print(f"  tree storage: {total / size:.1f} bytes per leaf ({total / 2**20:.1f} MiB)")
    await proof_latency(conn, size, rounds)
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--proofs", type=int, default=500)
    parser.add_argument("--proofs-only", type=int, default=0, metavar="N")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--live-only", action="store_true", help="only the live lag phase")
    parser.add_argument("--write", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        asyncio.run(write(args.write, args.rate, args.seconds, args.interval))
        return

    async def run() -> None:
        async with scratch(args.database_url) as url:
            if args.proofs_only:
                await synthetic(url, args.proofs_only, args.proofs)
            elif args.live_only:
                await live_lag(url, args.rate, args.seconds, args.interval)
            else:
                await full(url, args.events, args.rate, args.seconds, args.interval, args.proofs)

    asyncio.run(run())


if __name__ == "__main__":
    main()
