"""Memory of the server under distinct large requests and a sustained mixed load.

Starts ``analytics-graph serve`` on a fresh database of the given PostgreSQL server
(a subprocess, so its RSS is its own), then:

1. the issue's probes: 20 distinct 10 MB queries that fail to parse, then 20
   requests each with a distinct 10 MB unused variable (RSS after each group);
2. a mixed load for ``--seconds``: small queries with ever-new variables (every
   answer a cache miss that is then cached), distinct failing documents of 50 kB,
   requests with a distinct 1 MB unused variable, and recordEngagement batches of
   100 events; the RSS is sampled every ``--every`` seconds.

Run: ``python bench/memory.py postgresql://postgres@127.0.0.1:5432/postgres``.
``--pythonpath DIR`` runs the server from another checkout's ``src`` (a before/after).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from analytics_graph.auth import Role, issue_token

SECRET = "bench-memory-secret-of-at-least-32-bytes"
MIB = 1024 * 1024
REGISTER = (
    "mutation A($handle: String!) { registerAccount(input: {handle: $handle,"
    " displayName: $handle}) { ... on Account { id } } }"
)
RECORD = (
    "mutation R($events: [EngagementEventInput!]!) {"
    " recordEngagement(events: $events) { __typename } }"
)
LOG = (
    "query L($after: Position, $first: Int) {"
    " eventLog(after: $after, first: $first) { events { type } } }"
)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Server:
    def __init__(
        self, url: str, port: int, pythonpath: str | None, folder: Path, remembered: int
    ) -> None:
        env = dict(os.environ)
        env.update(
            ANALYTICS_GRAPH_DATABASE_URL=url,
            ANALYTICS_GRAPH_SECRET=SECRET,
            ANALYTICS_GRAPH_DATA_DIR=str(folder),
            ANALYTICS_GRAPH_INGEST_REMEMBERED_IDS=str(remembered),
        )
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        command = [sys.executable, "-c", "from analytics_graph.cli import main; main()"]
        self.process = subprocess.Popen(
            [*command, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{port}"

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(self.base + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


class Client:
    def __init__(self, base: str) -> None:
        self.http = httpx.AsyncClient(base_url=base, timeout=120)
        self.headers = {
            "authorization": f"Bearer {issue_token(SECRET, Role.ADMIN)}",
            "content-type": "application/json",
        }
        self.statuses: dict[int, int] = {}
        self.events = 0

    async def post(self, body: bytes | dict[str, Any]) -> httpx.Response:
        if isinstance(body, dict):
            response = await self.http.post("/graphql", json=body, headers=self.headers)
        else:
            response = await self.http.post("/graphql", content=body, headers=self.headers)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response


def failing_query(n: int, size: int) -> bytes:
    return b'{"query": "{ __typename ' + str(n).encode() + b" " + b"(" * size + b'"}'


def unused_variable(n: int, size: int) -> bytes:
    value = str(n).encode() + b"x" * size
    return b'{"query": "{ __typename }", "variables": {"unused": "' + value + b'"}}'


async def probes(client: Client, pid: int) -> None:
    print(f"RSS at start: {rss_mib(pid):.0f} MiB")
    for n in range(20):
        await client.post(failing_query(n, 10 * MIB))
    print(f"after 20 distinct 10 MB failing queries: {rss_mib(pid):.0f} MiB")
    for n in range(20):
        await client.post(unused_variable(n, 10 * MIB))
    print(f"after 20 requests with a 10 MB unused variable: {rss_mib(pid):.0f} MiB")


async def mixed(client: Client, pid: int, seconds: float, every: float) -> None:
    handle = f"m{uuid.uuid4().hex[:12]}"
    registered = await client.post({"query": REGISTER, "variables": {"handle": handle}})
    account = registered.json()["data"]["registerAccount"]["id"]
    counter = iter(range(10**9))
    stop = time.monotonic() + seconds

    async def worker(kind: int) -> None:
        while time.monotonic() < stop:
            n = next(counter)
            if kind == 0:
                await client.post({"query": LOG, "variables": {"after": n, "first": 1}})
            elif kind == 1:
                await client.post(failing_query(n, 50_000))
            elif kind == 2:
                await client.post(unused_variable(n, MIB))
            else:
                events = [_view(account) for _ in range(100)]
                await client.post({"query": RECORD, "variables": {"events": events}})
                client.events += len(events)

    async def sample() -> None:
        start = time.monotonic()
        while time.monotonic() < stop:
            elapsed = time.monotonic() - start
            print(
                f"  t={elapsed:5.0f} s  RSS {rss_mib(pid):6.0f} MiB"
                f"  ({client.events} events ingested)",
                flush=True,
            )
            await asyncio.sleep(every)

    kinds = "queries, failing documents, unused 1 MB variables, ingest"
    print(f"mixed load for {seconds:.0f} s ({kinds}):")
    await asyncio.gather(sample(), *(worker(k) for k in (0, 0, 1, 2, 3)))
    print(f"  end      RSS {rss_mib(pid):6.0f} MiB; answers by status: {client.statuses}")


def _view(account: str) -> dict[str, Any]:
    return {
        "profileView": {
            "eventId": str(uuid.uuid4()),
            "occurredAt": datetime(2025, 5, 20, 12, tzinfo=UTC).isoformat(),
            "accountId": account,
            "viewerId": "v",
        }
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("server_url")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--every", type=float, default=30)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pythonpath")
    parser.add_argument("--probes-only", action="store_true")
    parser.add_argument(
        "--remembered",
        type=int,
        default=100_000,
        help="event ids the server's ingestor remembers (its largest cache; ~100 B each)",
    )
    args = parser.parse_args()
    name = f"bench_memory_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = args.server_url.rsplit("/", 1)[0] + f"/{name}"
    folder = Path(f"/tmp/{name}")
    folder.mkdir()  # noqa: ASYNC240 - once, before anything runs
    server = Server(url, args.port, args.pythonpath, folder, args.remembered)
    try:
        await server.ready()
        client = Client(server.base)
        await probes(client, server.process.pid)
        if not args.probes_only:
            await mixed(client, server.process.pid, args.seconds, args.every)
    finally:
        server.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
