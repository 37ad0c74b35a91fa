"""Live updates: shared metric subscriptions and webhook deliveries, measured.

    python -m bench.live subscriptions --accounts 100 --per-account 10 --seconds 15
    python -m bench.live subscriptions --accounts 1 --per-account 1000      # all on one account
    python -m bench.live webhooks --accounts 50 --seconds 15
    python -m bench.live rounds --accounts 1000 --per-account 10 --rounds 20   # CPU only
    python -m bench.live rounds --accounts 1000 --per-account 10 --chunk 100   # in rounds of 100

A fresh database on ``ANALYTICS_GRAPH_BENCH_DATABASE_URL`` (default: the local test
server) gets a simulated world; the server runs in a process of its own (its CPU
and RSS are read from /proc). Subscribers (real graphql-transport-ws clients, the
``websockets`` package) ask one of three selections of their account's metrics;
an ingest loop records views spread over the accounts at ``--rate`` events/s.
Delay: from the commit of the batch holding an update's position to the update's
receipt. ``rounds``: the same questions, without sockets or ingest, in this process: the CPU of
the hub's rounds (every question changed), and whether their payloads are those of the
engine's normal execution (run after them). Webhooks: one endpoint per account
(``METRICS_CHANGED``, interval ``--interval``) to a local receiver; delay from commit to
receipt.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import functools
import math
import os
import resource
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_graph.auth import Role, issue_token
from analytics_graph.database import create_pool, scratch_database
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Notifier
from analytics_graph.eventstore.schema import migrate
from analytics_graph.ingest import Ingestor
from analytics_graph.projection import wait_until_applied
from analytics_graph.projection.notices import NoticeQueue, change_feed
from analytics_graph.simulation import SimulationConfig, World, generate_world, load_world
from analytics_graph.webhooks import Topic, UrlPolicy, endpoints
from projections import ALL as PROJECTIONS

SECRET = "bench-live-secret-of-at-least-32-bytes!!"
SELECTIONS = (
    "subscription S($id: ID!) { accountMetrics(accountId: $id) { position account {"
    " followerCount } } }",
    "subscription S($id: ID!) { accountMetrics(accountId: $id) { position account {"
    " analytics(range: {preset: LAST_7_DAYS}) { overview { videoViews { total } } } } } }",
    "subscription S($id: ID!) { accountMetrics(accountId: $id) { position account {"
    " analytics(range: {preset: LAST_28_DAYS}) { overview { likes { total daily { value } }"
    " profileViews { total } } } } } }",
)


SERVER_SRC = os.environ.get("ANALYTICS_GRAPH_BENCH_SERVER_SRC", "")
"""Where the server's ``analytics_graph`` comes from, when not from this tree (say an
export of main's ``src``: its figures are the baseline of this tree's)."""


def raise_open_files() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


class Usage:
    """CPU seconds and RSS of a process, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = self.cpu()

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def waited(self) -> float:
        """Seconds its threads spent runnable but waiting for a CPU (the machine busy)."""
        tasks = Path(f"/proc/{self.pid}/task")
        return sum(int((t / "schedstat").read_text().split()[1]) for t in tasks.iterdir()) / 1e9

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


class Commits:
    """When each ingest batch committed, by its last position."""

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.times: list[float] = []

    def add(self, position: int, at: float) -> None:
        self.positions.append(position)
        self.times.append(at)

    def time_of(self, position: int) -> float | None:
        """The commit time of the first batch reaching ``position``."""
        i = bisect.bisect_left(self.positions, position)
        return self.times[i] if i < len(self.times) else None


def database(base: str) -> contextlib.AbstractAsyncContextManager[str]:
    prefix = os.environ.get("ANALYTICS_GRAPH_BENCH_DATABASE_PREFIX", "ag_bench_live")
    return scratch_database(base, prefix)


@contextlib.asynccontextmanager
async def notices_timed(url: str) -> AsyncIterator[list[tuple[float, str, int]]]:
    """The change notices naming accounts while the block runs: (receipt time,
    projection, position), the first part of each."""
    timed: list[tuple[float, str, int]] = []

    async def follow(notices: NoticeQueue) -> None:
        seen: set[tuple[str, int]] = set()
        async for notice in notices:
            if notice.accounts and (notice.projection, notice.position) not in seen:
                seen.add((notice.projection, notice.position))
                timed.append((time.time(), notice.projection, notice.position))

    async with change_feed(url) as feed:
        with feed.subscribe() as notices:
            task = asyncio.create_task(follow(notices))
            try:
                yield timed
            finally:
                task.cancel()


def notice_lags(timed: list[tuple[float, str, int]], commits: Commits) -> str:
    """Per projection naming accounts, from the commit of a batch to its change notice's
    receipt (here): how far the read models (and so the updates) lag the log."""
    lags: dict[str, list[float]] = {}
    ends = set(commits.positions)  # not, say, an alert the server appended itself
    for at, projection, position in timed:
        if position in ends and (committed := commits.time_of(position)) is not None:
            lags.setdefault(projection, []).append(at - committed)
    return "commit -> change notice (the read models' lag): " + "; ".join(
        f"{name} p50 {percentile(v, 0.5):.0f} ms, p99 {percentile(v, 0.99):.0f} ms"
        for name, v in sorted(lags.items())
    )


async def caught_up(store: EventStore) -> None:
    """Waits until the server's projections include the whole log."""
    position = await store.last_position()
    async with store.pool.acquire() as conn:
        await wait_until_applied(conn, PROJECTIONS, position, within=600)


@contextlib.asynccontextmanager
async def server(url: str, port: int, interval: float, data_dir: Path) -> AsyncIterator[Usage]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [SERVER_SRC, os.environ.get("PYTHONPATH")])),
        "ANALYTICS_GRAPH_DATABASE_URL": url,
        "ANALYTICS_GRAPH_SECRET": SECRET,
        "ANALYTICS_GRAPH_DATA_DIR": str(data_dir),
        "ANALYTICS_GRAPH_WEBHOOKS_ALLOW_PRIVATE": "true",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.live", "serve", str(port), str(interval), env=env
    )
    try:
        for _ in range(600):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            await asyncio.sleep(0.1)
        yield Usage(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(20):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def serve(port: int, interval: float) -> None:
    """The server process: the app under uvicorn, with the given subscription interval."""
    import dataclasses

    import uvicorn

    from analytics_graph.app import create_app
    from analytics_graph.config import Settings

    raise_open_files()
    settings = dataclasses.replace(
        Settings.from_environ(),
        subscription_interval_seconds=interval,
        webhook_metrics_interval_seconds=interval,
    )
    app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    hub = app.state.graphql.websocket.hub
    rounds = list(getattr(hub, "rounds", []))
    if hasattr(hub, "written"):  # a baseline's hub may not write frames itself
        print(f"  server: member updates written straight to the socket {hub.written}",
              file=sys.stderr)  # fmt: skip
    if rounds:
        seconds = [r.seconds for r in rounds]
        questions = [r.questions for r in rounds]
        print(
            f"  server: {len(rounds)} rounds (the latest kept), questions per round"
            f" max {max(questions)}, round time p50 {percentile(seconds, 0.5):.0f} ms,"
            f" max {percentile(seconds, 1.0):.0f} ms, process CPU in a round p50"
            f" {percentile([r.cpu for r in rounds], 0.5):.0f} ms (serialising and sending"
            f" {percentile([r.publishing_cpu for r in rounds], 0.5):.0f} ms),"
            f" statements per round max {max(r.statements for r in rounds)}",
            file=sys.stderr,
        )


async def world_in(url: str, accounts: int) -> tuple[World, EventStore, asyncpg.Pool]:
    """The world in the database; the store's commits wake the server (a notifier)."""
    pool = await create_pool(url, min_size=1, max_size=4)
    notifier = Notifier(url)
    await notifier.__aenter__()  # lives as long as the benchmark process
    async with pool.acquire() as conn:
        await migrate(conn)
    world = generate_world(
        SimulationConfig(
            seed=7,
            accounts=accounts,
            pro_ratio=1.0,
            events=max(2_000, accounts * 20),
            users=2_000,
            weeks=2,
            end=datetime.now(UTC) - timedelta(minutes=10),
        )
    )
    store = EventStore(pool, notifier)
    await load_world(world, store)
    return world, store, pool


async def ingest(
    world: World, store: EventStore, rate: int, seconds: float, commits: Commits
) -> int:
    """Views spread over every account's first video, in 10 batches a second."""
    ingestor = Ingestor(store, max_batch=100_000)
    videos: dict[uuid.UUID, str] = {}
    for video in world.videos:
        if not video.deleted_at:
            videos.setdefault(video.account_id, str(video.id))
    chosen = list(videos.values())
    per_batch, sent, n = max(1, rate // 10), 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        at = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
        batch = []
        for _ in range(per_batch):
            batch.append(
                {
                    "type": "view",
                    "eventId": str(uuid.uuid4()),
                    "occurredAt": at,
                    "videoId": chosen[n % len(chosen)],
                    "viewerId": f"b{n}",
                    "watchedSeconds": 1.0,
                    "source": "FOR_YOU",
                }
            )
            n += 1
        outcome = await ingestor.ingest_events(batch)
        assert not outcome.rejections, outcome.rejections[:1]
        commits.add(await store.last_position(), time.time())
        sent += len(batch)
        await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
    return sent


async def subscriber(
    port: int, account: str, query: str, received: list[tuple[float, int]], ready: asyncio.Event
) -> None:
    """One real graphql-transport-ws client; records each update's receipt time and
    position (read off the payload with one ``orjson.loads``)."""
    auth = {"Authorization": f"Bearer {issue_token(SECRET, Role.CREATOR, uuid.UUID(account))}"}
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_size=None, compression=None, open_timeout=300, ping_interval=None,
    ) as ws:  # fmt: skip
        await ws.send(orjson.dumps({"type": "connection_init", "payload": auth}).decode())
        await ws.recv()
        message = {"id": "1", "type": "subscribe",
                   "payload": {"query": query, "variables": {"id": account}}}  # fmt: skip
        await ws.send(orjson.dumps(message).decode())
        ready.set()
        async for raw in ws:
            at = time.time()
            data = orjson.loads(raw)
            if data.get("type") == "next" and data["payload"].get("data"):
                received.append((at, data["payload"]["data"]["accountMetrics"]["position"]))
            else:
                print(f"subscriber of {account}: {raw!r}", file=sys.stderr)
        print(f"subscriber of {account}: closed {ws.close_code}", file=sys.stderr)


async def open_subscribers(
    port: int, chosen: list[tuple[str, str]], received: list[tuple[float, int]]
) -> list[asyncio.Task[None]]:
    """A subscriber per ``(account, query)``, opened 50 at a time; when all subscribed."""
    tasks: list[asyncio.Task[None]] = []
    for start in range(0, len(chosen), 50):
        readies = []
        for account, query in chosen[start : start + 50]:
            ready = asyncio.Event()
            readies.append(ready)
            tasks.append(asyncio.create_task(subscriber(port, account, query, received, ready)))
        for ready in readies:
            await ready.wait()
    return tasks


def clients(port: int, plan: Path, results: Path) -> None:
    """A client process: the subscribers of ``plan`` (JSON ``[[account, query], ...]``);
    prints ``ready`` once all subscribed, and on SIGTERM writes what it received
    (``time position`` lines) to ``results``."""
    raise_open_files()
    received = asyncio.run(receive(port, orjson.loads(plan.read_bytes())))
    results.write_text("".join(f"{at} {position}\n" for at, position in received))


async def receive(port: int, chosen: list[tuple[str, str]]) -> list[tuple[float, int]]:
    received: list[tuple[float, int]] = []
    tasks = await open_subscribers(port, chosen, received)
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return received


def write_plans(chosen: list[tuple[str, str]], processes: int, scratch: Path) -> list[Path]:
    """The plan file of each client process."""
    scratch.mkdir(parents=True, exist_ok=True)
    plans = [scratch / f"plan-{i}.json" for i in range(processes)]
    for i, plan in enumerate(plans):
        plan.write_bytes(orjson.dumps(chosen[i::processes]))
    return plans


def read_results(paths: list[Path]) -> list[tuple[float, int]]:
    received = []
    for path in paths:
        for line in path.read_text().splitlines():
            at, position = line.split()
            received.append((float(at), int(position)))
    return received


class Clients:
    """The client processes: their CPU, and what they received once stopped."""

    def __init__(self, started: list[tuple[asyncio.subprocess.Process, Path]]) -> None:
        self.started = started
        self.usages = [Usage(process.pid) for process, _ in started]

    def cpu(self) -> float:
        return sum(u.cpu() for u in self.usages)

    async def stop(self) -> list[tuple[float, int]]:
        for process, _ in self.started:
            process.send_signal(signal.SIGTERM)
        for process, _ in self.started:
            await process.wait()
        return read_results([results for _, results in self.started])


async def client_processes(
    port: int, chosen: list[tuple[str, str]], processes: int, scratch: Path
) -> AsyncIterator[Clients]:
    """``processes`` client processes sharing ``chosen``, once all subscribed."""
    started = []
    for plan in write_plans(chosen, processes, scratch):
        results = plan.with_suffix(".received")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.live", "clients", str(port), str(plan), str(results),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        started.append((process, results))
    for process, _ in started:
        assert process.stdout is not None
        assert (await process.stdout.readline()).strip() == b"ready"

    try:
        yield Clients(started)
    finally:
        for process, _ in started:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def subscriptions(args: argparse.Namespace) -> None:
    raise_open_files()
    async with database(args.database) as url:
        world, store, pool = await world_in(url, args.accounts)
        port = 18_000 + os.getpid() % 1000
        scratch = Path(f"/tmp/bench-live-{port}")
        async with server(url, port, args.interval, scratch) as usage:
            await caught_up(store)  # else subscribers may ask for accounts not projected yet
            accounts = [str(a.id) for a in world.accounts]
            count = args.accounts * args.per_account
            chosen = [
                (accounts[i % len(accounts)], SELECTIONS[(i // len(accounts)) % len(SELECTIONS)])
                for i in range(count)
            ]
            started = time.monotonic()
            opened = contextlib.asynccontextmanager(client_processes)
            async with opened(port, chosen, args.client_processes, scratch) as clients:
                opening = time.monotonic() - started
                await asyncio.sleep(2)
                idle_rss = usage.rss_mb()
                commits = Commits()
                load = os.getloadavg()
                cpu0, clients0, t0 = usage.cpu(), clients.cpu(), time.monotonic()
                waited0 = usage.waited()
                async with notices_timed(url) as notices:
                    sent = await ingest(world, store, args.rate, args.seconds, commits)
                    await asyncio.sleep(2)
                elapsed, cpu = time.monotonic() - t0, usage.cpu() - cpu0
                waited = usage.waited() - waited0
                clients_cpu = clients.cpu() - clients0
                got = await clients.stop()
            delays = [at - c for at, p in got if (c := commits.time_of(p)) is not None]
            print(
                f"subscribers {count} on {args.accounts} accounts ({len(SELECTIONS)} selections,"
                f" {args.client_processes} client processes), opened in {opening:.1f} s;"
                f" interval {args.interval} s; load average before {load[0]:.2f},"
                f" after {os.getloadavg()[0]:.2f}\n"
                f"  ingest {sent} events in {args.seconds} s ({sent / args.seconds:.0f}/s)\n"
                f"  updates received {len(got)} ({len(got) / elapsed:.0f}/s);"
                f" delay commit->receipt p50 {percentile(delays, 0.5):.0f} ms,"
                f" p99 {percentile(delays, 0.99):.0f} ms, max {percentile(delays, 1.0):.0f} ms\n"
                f"  server CPU {cpu / elapsed * 100:.0f}% of one core, and waiting for a CPU"
                f" {waited / elapsed * 100:.0f}% of the time;"
                f" RSS idle {idle_rss:.0f} MB, end {usage.rss_mb():.0f} MB;"
                f" client processes' CPU {clients_cpu / elapsed * 100:.0f}% of one core\n"
                f"  {notice_lags(notices, commits)}"
            )
        await pool.close()


async def rounds(args: argparse.Namespace) -> None:
    """The hub's rounds in this process (members whose send does nothing): CPU per
    round and per question, while nothing else runs."""
    from starlette.datastructures import Secret

    from analytics_graph.api.live.hub import Hub, key_of
    from analytics_graph.app import create_app
    from analytics_graph.auth import Caller
    from analytics_graph.config import Settings

    payloads: dict[str, str] = {}

    async def sink(name: str, payload: str) -> None:
        payloads[name] = payload

    async with database(args.database) as url:
        world, store, pool = await world_in(url, args.accounts)
        scratch = Path(f"/tmp/bench-live-{os.getpid()}")
        settings = Settings(database_url=url, secret=Secret(SECRET), data_dir=scratch)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await caught_up(store)
            hub: Hub = app.state.graphql.websocket.hub
            accounts = [str(a.id) for a in world.accounts]
            count = args.accounts * args.per_account
            with contextlib.ExitStack() as stack:
                for i in range(count):
                    account = accounts[i % len(accounts)]
                    query = SELECTIONS[(i // len(accounts)) % len(SELECTIONS)]
                    caller = Caller(Role.CREATOR, uuid.UUID(account))
                    key = key_of(query, {"id": account}, None, caller)
                    send = functools.partial(sink, f"{account} {query}")
                    stack.enter_context(hub.joined(key, caller, send))
                await asyncio.gather(*(g.opening for g in hub.groups.values() if g.opening))
                opened_rss = Usage(os.getpid()).rss_mb()
                position = await store.last_position()
                engine = hub.schema.engine  # a baseline's engine may have no count
                compiled = getattr(engine, "compiled_answers", 0)
                for _ in range(args.rounds):
                    hub._changed = dict.fromkeys(hub.groups.values(), position)
                    while hub._changed:  # in rounds of at most --chunk questions
                        await hub._round(args.chunk)
                compiled = getattr(engine, "compiled_answers", 0) - compiled
                answered = dict(payloads)
                for group in hub.groups.values():  # the engine's normal execution
                    group.compiled = None
                hub._changed = dict.fromkeys(hub.groups.values(), position)
                await hub._round()
                same = sum(answered[k] == v for k, v in payloads.items())
            per_pass = math.ceil(len(hub.groups) / args.chunk)  # rounds answering each once
            kept = list(hub.rounds)[per_pass:-1]  # the first pass warms the caches
            questions = kept[0].questions
            cpu = percentile([r.cpu for r in kept], 0.5)
            print(
                f"rounds of {questions} questions ({count} members, {args.accounts} accounts):"
                f" {len(kept)} rounds, process CPU per round p50 {cpu:.0f} ms"
                f" ({cpu * 1000 / questions:.0f} us per question), of which publishing"
                f" {percentile([r.publishing_cpu for r in kept], 0.5):.0f} ms; statements"
                f" {kept[0].statements}; answered by compiled operations"
                f" {compiled} of {len(payloads) * args.rounds}; payloads equal to the normal"
                f" execution's: {same} of {len(payloads)}; RSS with the questions open"
                f" {opened_rss:.0f} MB"
            )
        await pool.close()


async def idle_memory(args: argparse.Namespace) -> None:
    """RSS of the server with 0 and with N idle subscribers (one account, one selection)."""
    raise_open_files()
    async with database(args.database) as url:
        world, store, pool = await world_in(url, 1)
        port = 18_000 + os.getpid() % 1000
        async with server(url, port, args.interval, Path(f"/tmp/bench-live-{port}")) as usage:
            await caught_up(store)
            account = str(world.accounts[0].id)
            await asyncio.sleep(2)
            before = usage.rss_mb()
            tasks: list[asyncio.Task[None]] = []
            received: list[tuple[float, int]] = []
            for _ in range(args.count):
                ready = asyncio.Event()
                coroutine = subscriber(port, account, SELECTIONS[1], received, ready)
                tasks.append(asyncio.create_task(coroutine))
                await ready.wait()
            await asyncio.sleep(3)
            after = usage.rss_mb()
            print(
                f"idle subscribers {args.count}: server RSS {before:.1f} -> {after:.1f} MB,"
                f" {(after - before) * 1024 / args.count:.1f} KB per subscriber"
                " (websocket connection included)"
            )
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await pool.close()


async def webhooks(args: argparse.Namespace) -> None:
    import uvicorn

    received: list[tuple[float, int]] = []

    async def hook(request: Request) -> Response:
        body = orjson.loads(await request.body())
        received.append((time.time(), body["data"]["position"]))
        return Response(status_code=204)

    receiver_port = 19_000 + os.getpid() % 1000
    receiver = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
            host="127.0.0.1",
            port=receiver_port,
            log_level="warning",
        )
    )
    receiving = asyncio.create_task(receiver.serve())
    async with database(args.database) as url:
        world, store, pool = await world_in(url, args.accounts)
        for account in world.accounts:
            await endpoints.create(
                pool,
                UrlPolicy(allow_private=True),
                account.id,
                f"http://127.0.0.1:{receiver_port}/hook",
                [Topic.METRICS_CHANGED],
            )
        port = 18_000 + os.getpid() % 1000
        async with server(url, port, args.interval, Path(f"/tmp/bench-live-{port}")) as usage:
            commits = Commits()
            cpu0, t0 = usage.cpu(), time.monotonic()
            sent = await ingest(world, store, args.rate, args.seconds, commits)
            await asyncio.sleep(3)
            elapsed, cpu = time.monotonic() - t0, usage.cpu() - cpu0
            delays = [at - c for at, p in received if (c := commits.time_of(p)) is not None]
            made = await pool.fetchrow(
                "SELECT count(*) AS n, avg(extract(epoch FROM delivered_at - created_at)) AS wait,"
                " count(DISTINCT created_at) AS dispatches FROM webhook_deliveries"
            )
            assert made is not None
            print(
                f"  deliveries made {made['n']} in {made['dispatches']} dispatches;"
                f" made -> delivered {float(made['wait'] or 0) * 1000:.0f} ms on average"
            )
            print(
                f"webhooks: {args.accounts} endpoints, METRICS_CHANGED at most every"
                f" {args.interval} s; ingest {sent / args.seconds:.0f} events/s"
                f" for {args.seconds} s\n"
                f"  deliveries {len(received)} ({len(received) / elapsed:.0f}/s);"
                f" delay commit->receipt p50 {percentile(delays, 0.5):.0f} ms,"
                f" p99 {percentile(delays, 0.99):.0f} ms\n"
                f"  server CPU {cpu / elapsed * 100:.0f}% of one core, RSS {usage.rss_mb():.0f} MB"
            )
        await pool.close()
    receiver.should_exit = True
    await receiving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "mode", choices=["subscriptions", "idle", "webhooks", "serve", "clients", "rounds"]
    )
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--per-account", type=int, default=10)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--chunk", type=int, default=1_000_000, help="rounds: most questions a round (all)"
    )
    parser.add_argument("--client-processes", type=int, default=3)
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "ANALYTICS_GRAPH_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    if args.mode == "serve":
        serve(int(args.rest[0]), float(args.rest[1]))
        return
    if args.mode == "clients":
        clients(int(args.rest[0]), Path(args.rest[1]), Path(args.rest[2]))
        return
    runner: Any = {
        "subscriptions": subscriptions,
        "idle": idle_memory,
        "webhooks": webhooks,
        "rounds": rounds,
    }
    asyncio.run(runner[args.mode](args))


if __name__ == "__main__":
    main()
