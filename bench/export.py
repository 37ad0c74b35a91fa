"""Export speed and server memory, beside the equivalent GraphQL query.

    python bench/export.py [--server-url URL] [--events 400000] [--rounds 3]

A database ``bench_export_<events>`` on ``--server-url`` (created, loaded through the
regular ingest and projected once, then reused) holds one Pro account with 2,000
videos and a year of engagement. The real app serves it under uvicorn in a
subprocess (production mode). Over the account's last 365 days, in turns for
``--rounds`` rounds:

* graphql: the whole dashboard (six daily series, every posted video and the
  trending ones with their stats, the Followers section), never from the answer
  cache (each round's document differs by a comment);
* csv overview / content / followers, and xlsx (the three sheets);
* csv and xlsx of the account's most viewed video over its whole life.

For each: the median wall time of the whole download, its size, and the server's
peak resident memory during the request above its resident memory just before
(``VmHWM`` after ``VmRSS``, the peak reset through ``/proc/<pid>/clear_refs``).
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
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import asyncpg  # noqa: E402
import httpx  # noqa: E402

if TYPE_CHECKING:
    from analytics_graph.simulation import SimulationConfig

SECRET = "bench-signing-secret-of-at-least-32-bytes"
END = datetime(2026, 12, 1, tzinfo=UTC)
START_DAY, END_DAY = date(2025, 12, 1), date(2026, 11, 30)  # 365 days
PORT = 18761
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
DASHBOARD = """query Dashboard($id: ID!, $range: DateRangeInput!) {
  account(id: $id) {
    handle
    analytics(range: $range) {
      overview {
        videoViews { total daily { date value } } profileViews { total daily { date value } }
        likes { total daily { date value } } comments { total daily { date value } }
        shares { total daily { date value } } netFollowers { total daily { date value } }
      }
      content { postedVideos { ...Stats } trendingVideos { ...Stats } }
      followers {
        total gained lost netChange growth { date value }
        gender { key count ratio } ageRanges { key count ratio }
        topTerritories(first: 250) { key count ratio }
        activeHours { hour value } activeDays { weekday value }
      }
    }
  }
}
fragment Stats on VideoStats {
  video { id caption publishedAt } views likes comments shares viewsGained7d
}"""


def world_config(events: int) -> SimulationConfig:
    from analytics_graph.simulation import SimulationConfig

    # seed 7 draws 1.05 x videos_per_account videos for the one account: 2,000
    return SimulationConfig(
        seed=7, accounts=1, pro_ratio=1.0, videos_per_account=2000 / 1.05, users=50_000,
        events=events, end=END, weeks=53, deleted_ratio=0.0,
    )  # fmt: skip


async def prepare(server_url: str, events: int) -> str:
    """The DSN of a database holding the world, projected (made once, then reused)."""
    name = f"bench_export_{events}"
    url = f"{server_url.rsplit('/', 1)[0]}/{name}"
    admin = await asyncpg.connect(server_url)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            conn = await asyncpg.connect(url)
            try:
                if await conn.fetchval("SELECT to_regclass('bench_ready') IS NOT NULL"):
                    return url
            finally:
                await conn.close()
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
        print(f"  loaded {report.accepted:,} events in {time.monotonic() - started:.0f}s")
        position = await system.store.last_position()
        async with system.pool.acquire() as conn:
            await wait_until_applied(conn, ALL, position, within=7200)
            await conn.execute("VACUUM ANALYZE")
            await conn.execute("CREATE TABLE bench_ready (at timestamptz DEFAULT now())")
    print(f"  projected in {time.monotonic() - started:.0f}s total", flush=True)


async def targets(url: str) -> tuple[str, str, int]:
    """The account, its most viewed video, and how many videos it has."""
    from projections.engagement.videos import ENGAGEMENT
    from projections.entities.queries import SCHEMA as ENTITIES

    by_videos = f"SELECT account_id, count(*) FROM {ENTITIES}.videos GROUP BY 1 ORDER BY 2 DESC"
    by_views = f"SELECT video_id FROM {ENGAGEMENT}.video_days GROUP BY 1 ORDER BY sum(views) DESC"
    conn = await asyncpg.connect(url)
    try:
        top = await conn.fetchrow(by_videos + " LIMIT 1")
        video = await conn.fetchval(by_views + " LIMIT 1")
    finally:
        await conn.close()
    assert top is not None, "no videos: the world did not load"
    account, videos = top
    return str(account), str(video), int(videos)


@contextlib.contextmanager
def server(url: str) -> Iterator[tuple[str, int]]:
    """The real app under uvicorn in a subprocess: its base URL and process id."""
    env = {**os.environ, "ANALYTICS_GRAPH_DATABASE_URL": url, "ANALYTICS_GRAPH_SECRET": SECRET,
           "ANALYTICS_GRAPH_MODE": "production"}  # fmt: skip
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.export:app", "--port",
               str(PORT), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(30)


def app() -> object:
    """The app the server runs (``uvicorn --factory``)."""
    from analytics_graph.app import create_app
    from analytics_graph.config import Settings

    return create_app(Settings.from_environ())


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


async def measure(
    client: httpx.AsyncClient, pid: int, method: str, path: str, **kwargs: object
) -> tuple[float, int, int, int]:
    """Seconds, bytes, the server's peak RSS during the request and that peak above
    its RSS before (KiB)."""
    with open(f"/proc/{pid}/clear_refs", "w") as file:  # noqa: ASYNC230 (procfs: instant)
        file.write("5")  # the peak starts again from now
    before = _kib(pid, "VmRSS")
    started = time.perf_counter()
    response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:500]
    assert b'"errors"' not in response.content[:20_000] or method == "GET"
    peak = _kib(pid, "VmHWM")
    return elapsed, len(response.content), peak, peak - before


async def bench(url: str, rounds: int) -> None:
    from analytics_graph.auth import Role, issue_token

    account, video, videos = await targets(url)
    auditor = issue_token(SECRET, Role.AUDITOR)
    days = f"start={START_DAY}&end={END_DAY}"
    cases: dict[str, tuple[str, str]] = {
        "graphql dashboard": ("POST", "/graphql"),
        "csv overview": ("GET", f"/export/accounts/{account}.csv?{days}&section=overview"),
        "csv content": ("GET", f"/export/accounts/{account}.csv?{days}&section=content"),
        "csv followers": ("GET", f"/export/accounts/{account}.csv?{days}&section=followers"),
        "xlsx (3 sheets)": ("GET", f"/export/accounts/{account}.xlsx?{days}"),
        "video csv": ("GET", f"/export/videos/{video}.csv"),
        "video xlsx": ("GET", f"/export/videos/{video}.xlsx"),
    }
    results: dict[str, list[tuple[float, int, int, int]]] = {name: [] for name in cases}
    headers = {"authorization": f"Bearer {auditor}"}
    variables = {"id": account, "range": {"custom": {"start": str(START_DAY), "end": str(END_DAY)}}}
    with server(url) as (base, pid):
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as client:
            print(f"account {account}: {videos:,} videos; range {START_DAY} .. {END_DAY}")
            print(f"server RSS before the first request: {_kib(pid, 'VmRSS') / 1024:.0f} MiB")
            for turn in range(rounds + 1):  # the first round warms up and is not counted
                for name, (method, path) in cases.items():
                    body = None
                    if method == "POST":  # a new document each round: no answer cache
                        body = {"query": f"{DASHBOARD}\n# round {turn}", "variables": variables}
                    figures = await measure(client, pid, method, path, json=body)
                    results[name].append(figures)
            idle = _kib(pid, "VmRSS")
    print(f"server RSS after the runs: {idle / 1024:.0f} MiB. Medians of {rounds} rounds (after")
    print("a first, warming one); peak RSS during the request, and above the RSS before it")
    print("(first round: the first time the case ran / later rounds: median), MiB:")
    print(f"{'case':<20}{'ms':>9}{'bytes':>11}{'peak RSS':>10}{'+first':>8}{'+later':>8}")
    for name, (first, *runs) in results.items():
        ms = statistics.median(r[0] for r in runs) * 1000
        peak = statistics.median(r[2] for r in runs) / 1024
        later = statistics.median(r[3] for r in runs) / 1024
        print(
            f"{name:<20}{ms:>9.1f}{runs[-1][1]:>11,}{peak:>10.1f}{first[3] / 1024:>8.1f}"
            f"{later:>8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "ANALYTICS_GRAPH_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    async def run() -> None:
        print(f"preparing {args.events:,} events ...", flush=True)
        url = await prepare(args.server_url, args.events)
        await bench(url, args.rounds)

    asyncio.run(run())


if __name__ == "__main__":
    main()
