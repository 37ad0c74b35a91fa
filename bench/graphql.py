"""GraphQL serving speed, against a hand-written Starlette + asyncpg endpoint (the limit).

    python bench/graphql.py run --events 1000000 [--events 3000000] [--seconds 3]
    python bench/graphql.py completion --events 1000000 [--seconds 3]
    python bench/graphql.py versus CHECKOUT --events 1000000 [--seconds 3]
    python bench/graphql.py sizes --events 1000000 --events 10000000 [--only video28]

For each ``--events`` size: a database ``bench_graphql_<size>`` on the server of
``--server-url`` (created, loaded through the regular ingest and projected once,
then reused), served by the real app on one uvicorn worker (production mode) and,
beside it, by ``bench/graphql_baseline.py`` on one worker: the same read-model
queries, the same JSON, no GraphQL. Two requests:

* dashboard: a creator's 28-day overview (six metrics with daily series),
  content (posted and trending videos with their stats) and followers;
* video: one video's lifetime analytics (totals, sources, search terms,
  retention, daily and first-48-hours series);
* viewers: the dashboard with the Viewers section and ``asOf``;
* video28: one video's analytics over a 28-day range (reach and retention ranged);
* compare: 10 videos of an account compared over 90 days (with ``hourly``).

Each at concurrency 1, 8 and 32, twice: ``repeat`` (the same variables every
time: what a dashboard that refreshes asks, answered from the answer cache)
and ``vary`` (every request a different account or video and range end: no
answer is ever cached). The two servers take turns, three rounds of ``--seconds``
each, pooled (a shared machine's slow spells then fall on both alike). Prints
req/s, p50 and p99 per case, and the ratio of GraphQL's req/s to the baseline's.

``completion`` measures what the engine's completion of plain data buys: the same
app served two ways (``plans``: plain data completed by the engine's plans;
``stock``: graphql-core's own path for every field), uncached dashboard and video at
concurrency 8, taking turns. (Session 10 also measured plans compiled to generated
Python source: no consistent gain over ``plans``, so that code was removed.)

``versus CHECKOUT`` serves the same database with this checkout's app and with
another checkout's (``git worktree add DIR COMMIT``, with its own ``.venv``): a
before/after of a change, uncached dashboard and video at concurrency 8, in turns.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path, where this very file
# would pass for the `graphql` library: put the project root there instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from analytics_graph.database import with_database  # noqa: E402
from bench.graphql_load import (  # noqa: E402
    END,
    HEADER,
    Result,
    Targets,
    figures,
    hammer,
    pooled,
    requests_for,
    same_answers,
    side_by_side,
)

SECRET = "bench-signing-secret-of-at-least-32-bytes"
DASHBOARD = """query Dashboard($id: ID!, $range: DateRangeInput!) {
  account(id: $id) {
    handle followerCount
    analytics(range: $range) {
      range { start end }
      overview {
        videoViews { total previousTotal changeRatio daily { date value } }
        profileViews { total previousTotal changeRatio daily { date value } }
        likes { total previousTotal changeRatio daily { date value } }
        comments { total previousTotal changeRatio daily { date value } }
        shares { total previousTotal changeRatio daily { date value } }
        netFollowers { total previousTotal changeRatio daily { date value } }
      }
      content {
        postedVideos { ...Stats }
        trendingVideos { ...Stats }
      }
      followers {
        total gained lost netChange growth { date value }
        gender { key count ratio } ageRanges { key count ratio }
        topTerritories { key count ratio }
        activeHours { hour value } activeDays { weekday value }
      }
    }
  }
}
fragment Stats on VideoStats {
  video { id caption publishedAt } views likes comments shares viewsGained7d
}"""
VIDEO = """query Video($id: ID!) {
  video(id: $id) {
    id caption durationSeconds publishedAt
    analytics {
      views likes comments shares favorites totalPlayTimeSeconds averageWatchTimeSeconds
      watchedFullVideoRatio newFollowers reachedAudience
      trafficSources { key count ratio } searchQueries { key count ratio }
      retention { second ratio }
      daily { date views playTimeSeconds likes comments shares newFollowers }
      hourly { hour views }
    }
  }
}"""


# Issue 14: the dashboard with viewers and freshness; one video over 28 days (reach and
# retention ranged); 10 videos of an account compared over 90 days.
DASHBOARD_VIEWERS = DASHBOARD.replace(
    "      range { start end }",
    "      range { start end }\n"
    "      viewers { total new returning daily { date total new } }\n"
    "      asOf { position recordedAt }",
)
VIDEO_28 = VIDEO.replace("query Video($id: ID!)", "query Video($id: ID!, $range: DateRangeInput)")
VIDEO_28 = VIDEO_28.replace("analytics {", "analytics(range: $range) {")
VIDEO_28 = VIDEO_28.replace("reachedAudience", "reachedAudience engagementRate")
COMPARISON = """query Comparison($id: ID!, $videos: [ID!]!, $days: Int) {
  account(id: $id) {
    videoComparison(videoIds: $videos, days: $days) {
      videos { video { id } cumulativeViews percentile hourly }
      median
    }
  }
}"""

QUERIES = {
    "dashboard": DASHBOARD,
    "video": VIDEO,
    "viewers": DASHBOARD_VIEWERS,
    "video28": VIDEO_28,
    "compare": COMPARISON,
}
ROUNDS = 3
"""Each case: the GraphQL server and the baseline taking turns this many times."""


# ---------------------------------------------------------------- the data


def world_config(events: int) -> Any:
    from analytics_graph.simulation import SimulationConfig

    return SimulationConfig(
        seed=42,
        accounts=60,
        pro_ratio=0.8,
        videos_per_account=8,
        users=200_000,
        events=events,
        end=END,
        weeks=8,
    )


def database_name(events: int, prefix: str = "bench_graphql") -> str:
    return f"{prefix}_{events}"


async def prepare(server_url: str, events: int, prefix: str = "bench_graphql") -> str:
    """The DSN of a database holding the world of ``events`` events, projected."""
    name = database_name(events, prefix)
    url = with_database(server_url, name)
    admin = await asyncpg.connect(server_url)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            conn = await asyncpg.connect(url)
            try:
                ready = await conn.fetchval("SELECT to_regclass('bench_ready') IS NOT NULL")
            finally:
                await conn.close()
            if ready:
                return url
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await load(url, events)
    return url


async def load(url: str, events: int) -> None:
    from analytics_graph.bootstrap import open_system
    from analytics_graph.config import Settings
    from analytics_graph.projection import wait_until_applied
    from analytics_graph.simulation import generate_world, load_world
    from projections import ALL

    started = time.monotonic()
    world = generate_world(world_config(events))
    async with open_system(Settings(database_url=url)) as system:
        report = await load_world(world, system.store)
        print(
            f"  loaded {report.accepted:,} events in {time.monotonic() - started:.0f}s", flush=True
        )
        position = await system.store.last_position()
        async with system.pool.acquire() as conn:
            await wait_until_applied(conn, ALL, position, within=7200)
            await conn.execute("VACUUM ANALYZE")
            await conn.execute("CREATE TABLE bench_ready (at timestamptz DEFAULT now())")
    print(f"  projected in {time.monotonic() - started:.0f}s total", flush=True)


async def find_targets(url: str) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Pro account ids (with videos), live video ids, and each Pro account's live videos."""
    from projections.entities import queries as entities

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            f"SELECT a.account_id FROM {entities.SCHEMA}.accounts a WHERE a.is_pro AND EXISTS"
            f" (SELECT 1 FROM {entities.SCHEMA}.videos v WHERE v.account_id = a.account_id)"
            " ORDER BY a.account_id"
        )
        videos = await conn.fetch(
            f"SELECT v.video_id, v.account_id FROM {entities.SCHEMA}.videos v"
            f" JOIN {entities.SCHEMA}.accounts a USING (account_id)"
            " WHERE a.is_pro AND NOT v.deleted ORDER BY v.video_id"
        )
    finally:
        await conn.close()
    by_account: dict[str, list[str]] = {}
    for video_id, account_id in videos:
        by_account.setdefault(str(account_id), []).append(str(video_id))
    return [str(r[0]) for r in rows], [str(r[0]) for r in videos], by_account


# ---------------------------------------------------------------- the servers


@contextlib.contextmanager
def server(kind: str, url: str, port: int, *extra: str, checkout: Path = ROOT) -> Iterator[str]:
    """Runs ``bench/graphql.py serve-<kind>`` of ``checkout`` (this one unless given,
    with its own ``.venv``) in a subprocess; yields its base URL."""
    env = {**os.environ, "ANALYTICS_GRAPH_DATABASE_URL": url, "ANALYTICS_GRAPH_SECRET": SECRET,
           "ANALYTICS_GRAPH_MODE": "production"}  # fmt: skip
    python = sys.executable if checkout == ROOT else str(checkout / ".venv" / "bin" / "python")
    script = str(checkout / "bench" / "graphql.py")
    command = [python, script, f"serve-{kind}", "--port", str(port), *extra]
    process = subprocess.Popen(command, env=env, cwd=checkout)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                raise RuntimeError(f"the {kind} server exited with {process.returncode}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def serve_graphql(port: int, completion: str = "plans") -> None:
    import uvicorn

    from analytics_graph.app import create_app
    from analytics_graph.config import Settings

    app = create_app(Settings.from_environ(), completion=completion)  # type: ignore[arg-type]
    uvicorn.run(app, port=port, log_level="warning", access_log=False)


def serve_baseline(port: int) -> None:
    import uvicorn

    from bench.graphql_baseline import create_baseline_app

    url = os.environ["ANALYTICS_GRAPH_DATABASE_URL"]
    uvicorn.run(create_baseline_app(url), port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------- the load


async def bench_size(
    url: str, events: int, seconds: float, only: list[str] | None = None
) -> dict[str, float]:
    from analytics_graph.auth import Role, issue_token

    accounts, videos, by_account = await find_targets(url)
    tokens = [issue_token(SECRET, Role.AUDITOR, uuid.uuid4()) for _ in range(200)]
    targets = Targets(accounts, videos, tokens, by_account)
    medians: dict[str, float] = {}
    with (
        server("graphql", url, 18731) as graphql_base,
        server("baseline", url, 18732) as baseline_base,
    ):
        chosen = {k: q for k, q in QUERIES.items() if not only or k in only}
        await same_answers(graphql_base, baseline_base, chosen, targets)
        print(f"\n{events:,} events: {len(accounts)} Pro accounts, {len(videos)} videos")
        print(HEADER)
        for kind, query in chosen.items():
            makers = requests_for(kind, query, targets)
            for mode, index in (("repeat", 0), ("vary", 1)):
                for concurrency in (1, 8, 32):
                    ours, theirs = await side_by_side(
                        (graphql_base, makers["graphql"][index]),
                        (baseline_base, makers["baseline"][index]),
                        concurrency,
                        seconds,
                        ROUNDS,
                    )
                    medians[f"{kind}/{mode}/{concurrency}"] = ours.percentile(0.5)
                    print(
                        f"{kind:<10}{mode:<8}{concurrency:>5}  {figures(ours, theirs)}", flush=True
                    )
    return medians


async def run(
    server_url: str, sizes: list[int], seconds: float, only: list[str] | None = None
) -> None:
    urls = {}
    for events in sizes:
        print(f"preparing {events:,} events ...", flush=True)
        urls[events] = await prepare(server_url, events)
        await bench_size(urls[events], events, seconds, only)
    if len(sizes) > 1:
        await compare_sizes(urls, seconds, only)


async def run_sizes(
    server_url: str, sizes: list[int], seconds: float, only: list[str] | None = None
) -> None:
    """Only the comparison of sizes (databases prepared as for ``run``)."""
    urls = {events: await prepare(server_url, events) for events in sizes}
    await compare_sizes(urls, seconds, only)


async def compare_sizes(
    urls: dict[int, str], seconds: float, kinds: list[str] | None = None, rounds: int = 3
) -> None:
    """Each request kind (the dashboard by default; uncached: vary) on every size,
    servers side by side, the sizes taking turns for ``rounds`` rounds, so that the
    machine's other load hits them alike; prints the median of the rounds' p50 and p99."""
    for kind in kinds or ["dashboard"]:
        await compare_kind(urls, seconds, kind, rounds)


async def compare_kind(urls: dict[int, str], seconds: float, kind: str, rounds: int) -> None:
    from analytics_graph.auth import Role, issue_token

    print(f"\n{kind}, vary, sizes taking turns (median of rounds' p50 / p99, ms):")
    with contextlib.ExitStack() as stack:
        bases, makers = {}, {}
        for port, (events, url) in enumerate(urls.items(), start=18751):
            bases[events] = stack.enter_context(server("graphql", url, port))
            accounts, videos, by_account = await find_targets(url)
            tokens = [issue_token(SECRET, Role.AUDITOR, uuid.uuid4()) for _ in range(200)]
            targets = Targets(accounts, videos, tokens, by_account)
            makers[events] = requests_for(kind, QUERIES[kind], targets)["graphql"][1]
        for concurrency in (1, 8):
            p50s: dict[int, list[float]] = {e: [] for e in urls}
            p99s: dict[int, list[float]] = {e: [] for e in urls}
            for _ in range(rounds):
                for events in urls:
                    result = await hammer(bases[events], makers[events], concurrency, seconds)
                    p50s[events].append(result.percentile(0.5))
                    p99s[events].append(result.percentile(0.99))
            figures_by_size = "   ".join(
                f"{e:,}: {statistics.median(p50s[e]):.1f} / {statistics.median(p99s[e]):.1f}"
                for e in urls
            )
            sizes = list(urls)
            first, last = sizes[0], sizes[-1]
            ratio = statistics.median(p50s[last]) / statistics.median(p50s[first])
            print(f"  concurrency {concurrency:>2}:  {figures_by_size}   p50 ratio {ratio:.2f}x")


COMPLETIONS = ("plans", "stock")


async def compare_completions(server_url: str, events: int, seconds: float) -> None:
    """Uncached (vary) dashboard and video at concurrency 8, served by the app with each
    way of completing plain data; the servers take turns for ``ROUNDS`` rounds."""
    url = await prepare(server_url, events, "bench_completion")
    with contextlib.ExitStack() as stack:
        bases = {
            mode: stack.enter_context(server("graphql", url, port, "--completion", mode))
            for port, mode in enumerate(COMPLETIONS, start=18771)
        }
        await in_turns(url, events, seconds, bases)


async def compare_checkouts(server_url: str, events: int, seconds: float, other: Path) -> None:
    """Uncached (vary) dashboard and video at concurrency 8: this checkout's app and
    ``other``'s on the same database, taking turns for ``ROUNDS`` rounds."""
    url = await prepare(server_url, events, "bench_completion")
    with contextlib.ExitStack() as stack:
        bases = {
            "this": stack.enter_context(server("graphql", url, 18781)),
            other.name: stack.enter_context(server("graphql", url, 18782, checkout=other)),
        }
        await in_turns(url, events, seconds, bases)


async def in_turns(url: str, events: int, seconds: float, bases: dict[str, str]) -> None:
    """Each server in ``bases`` (by name) hammered in turn, ``ROUNDS`` rounds of two
    half-length turns each, the order rotating (the first of a round ran slower in an
    A/A test of one build against itself: 0.89x), pooled; figures relative to the first."""
    from analytics_graph.auth import Role, issue_token

    accounts, videos, by_account = await find_targets(url)
    tokens = [issue_token(SECRET, Role.AUDITOR, uuid.uuid4()) for _ in range(200)]
    targets = Targets(accounts, videos, tokens, by_account)
    print(f"\n{events:,} events, uncached (vary), concurrency 8, {ROUNDS} rounds in turns:")
    first = next(iter(bases))
    for kind in ("dashboard", "video"):  # the cases every checkout since session 9 answers
        query = QUERIES[kind]
        maker = requests_for(kind, query, targets)["graphql"][1]
        runs: dict[str, list[Result]] = {name: [] for name in bases}
        names = list(bases)
        for turn in range(ROUNDS * 2):  # each starts a round as often as the other
            order = names[turn % len(names) :] + names[: turn % len(names)]
            for name in order:
                runs[name].append(await hammer(bases[name], maker, 8, seconds / 2))
        results = {name: pooled(found) for name, found in runs.items()}
        for name, result in results.items():
            print(
                f"  {kind:<10}{name:<12}{result.rate:>8.0f} req/s"
                f"{result.percentile(0.5):>8.1f} ms p50{result.percentile(0.99):>8.1f} ms p99"
                f"   {result.rate / results[first].rate:>5.2f}x of {first}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    runner = sub.add_parser("run")
    runner.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    runner.add_argument("--events", type=int, action="append", help="repeatable; default 1000000")
    runner.add_argument("--seconds", type=float, default=3.0, help="per case and round")
    comparer = sub.add_parser("completion", help="planned vs stock completion")
    comparer.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    comparer.add_argument("--events", type=int, default=1_000_000)
    comparer.add_argument("--seconds", type=float, default=3.0, help="per case and round")
    versus = sub.add_parser("versus", help="this checkout against another, in turns")
    versus.add_argument("checkout", type=Path, help="another checkout with its own .venv")
    versus.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    versus.add_argument("--events", type=int, default=1_000_000)
    versus.add_argument("--seconds", type=float, default=3.0, help="per case and round")
    runner.add_argument("--only", action="append", choices=list(QUERIES), help="repeatable")
    sizer = sub.add_parser("sizes", help="only the sizes taking turns (uncached, vary)")
    sizer.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    sizer.add_argument("--events", type=int, action="append", required=True)
    sizer.add_argument("--seconds", type=float, default=3.0, help="per case and round")
    sizer.add_argument("--only", action="append", choices=list(QUERIES), help="repeatable")
    preparer = sub.add_parser("prepare", help="only load the databases (reused by run)")
    preparer.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    preparer.add_argument("--events", type=int, action="append")
    for kind in ("graphql", "baseline"):
        serving = sub.add_parser(f"serve-{kind}")
        serving.add_argument("--port", type=int, required=True)
        serving.add_argument("--completion", choices=COMPLETIONS, default="plans")
    args = parser.parse_args()
    if args.command == "run":
        asyncio.run(run(args.server_url, args.events or [1_000_000], args.seconds, args.only))
    elif args.command == "sizes":
        asyncio.run(run_sizes(args.server_url, args.events, args.seconds, args.only))
    elif args.command == "prepare":
        for events in args.events or [1_000_000]:
            asyncio.run(prepare(args.server_url, events))
    elif args.command == "versus":
        asyncio.run(
            compare_checkouts(args.server_url, args.events, args.seconds, args.checkout.resolve())
        )
    elif args.command == "completion":
        asyncio.run(compare_completions(args.server_url, args.events, args.seconds))
    elif args.command == "serve-graphql":
        serve_graphql(args.port, args.completion)
    else:
        serve_baseline(args.port)


if __name__ == "__main__":
    main()
