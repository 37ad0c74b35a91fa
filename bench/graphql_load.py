"""The load side of bench/graphql.py: clients, the requests they send, the figures."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

END = datetime(2025, 6, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Result:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


Request = Callable[[int], tuple[str, dict[str, Any], dict[str, str]]]  # n -> path, body, headers
SERIAL = itertools.count()  # never restarts: a "vary" request never repeats an earlier one


class Connection:
    """A bare HTTP/1.1 keep-alive client: the load side should cost as little CPU as
    possible on a machine it shares with the servers (httpx costs ~10x more)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, base: str) -> Connection:
        host, port = base.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n{head}\r\n".encode()
            + body
        )
        status_line = await self.reader.readuntil(b"\r\n")
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def hammer(base: str, request: Request, concurrency: int, seconds: float) -> Result:
    """``concurrency`` clients sending requests back to back for ``seconds``."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        connection = await Connection.open(base)
        try:
            while time.monotonic() < deadline:
                path, body, headers = request(next(SERIAL))
                encoded = orjson.dumps(body)
                started = time.perf_counter()
                status, answer = await connection.post(path, encoded, headers)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"{status}: {answer[:300]!r}")
        finally:
            connection.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(len(latencies), time.monotonic() - started, latencies)


def pooled(results: list[Result]) -> Result:
    """Several runs as one: all their requests over all their time."""
    latencies = [x for r in results for x in r.latencies]
    return Result(sum(r.requests for r in results), sum(r.seconds for r in results), latencies)


async def side_by_side(
    ours: tuple[str, Request],
    theirs: tuple[str, Request],
    concurrency: int,
    seconds: float,
    rounds: int,
) -> tuple[Result, Result]:
    """Both servers, taking turns for ``rounds`` rounds of ``seconds`` each, pooled: a
    shared machine's slow and fast spells then fall on both alike."""
    runs: tuple[list[Result], list[Result]] = ([], [])
    for _ in range(rounds):
        for (base, request), results in zip((ours, theirs), runs, strict=True):
            results.append(await hammer(base, request, concurrency, seconds))
    return pooled(runs[0]), pooled(runs[1])


@dataclass(frozen=True, slots=True)
class Targets:
    accounts: list[str]
    videos: list[str]
    tokens: list[str]
    """Auditor tokens naming distinct (made-up) accounts: distinct callers."""
    by_account: dict[str, list[str]] | None = None
    """Live videos per Pro account (for comparisons)."""

    def dashboard(self, n: int) -> dict[str, Any]:
        """Variables: every account, then every end of the last 60 days, then again."""
        end = END.date() - timedelta(days=(n // len(self.accounts)) % 60)
        start = end - timedelta(days=27)
        account = self.accounts[n % len(self.accounts)]
        return {"id": account, "range": {"custom": {"start": str(start), "end": str(end)}}}

    def video(self, n: int) -> dict[str, Any]:
        return {"id": self.videos[n % len(self.videos)]}

    def video_range(self, n: int) -> dict[str, Any]:
        """Variables: every video, then every 28-day range ending in the last 60 days."""
        end = END.date() - timedelta(days=(n // len(self.videos)) % 60)
        start = end - timedelta(days=27)
        video = self.videos[n % len(self.videos)]
        return {"id": video, "range": {"custom": {"start": str(start), "end": str(end)}}}

    def comparison(self, n: int) -> dict[str, Any]:
        """Variables: an account and 10 of its videos (rotating), over 90 days."""
        assert self.by_account
        accounts = sorted(self.by_account)
        account = accounts[n % len(accounts)]
        videos = self.by_account[account]
        shift = (n // len(accounts)) % len(videos)
        chosen = (videos[shift:] + videos[:shift])[:10]
        return {"id": account, "videos": chosen, "days": 90}

    def caller(self, n: int, space: int) -> dict[str, str]:
        """A new caller for each round over the ``space`` distinct variables: no answer
        is ever asked for twice."""
        return {"authorization": "Bearer " + self.tokens[(n // space) % len(self.tokens)]}


def requests_for(kind: str, query: str, targets: Targets) -> dict[str, tuple[Request, Request]]:
    """For each target ("graphql", "baseline"): the (repeat, vary) request makers."""
    path = f"/{kind}"
    if kind in ("dashboard", "viewers"):
        variables, space = targets.dashboard, len(targets.accounts) * 60
    elif kind == "video28":
        variables, space = targets.video_range, len(targets.videos) * 60
    elif kind == "compare":
        assert targets.by_account
        variables = targets.comparison
        space = sum(len(v) for v in targets.by_account.values())
    else:
        variables, space = targets.video, len(targets.videos)
    first = targets.caller(0, space)

    def vary(n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        return "/graphql", {"query": query, "variables": variables(n)}, targets.caller(n, space)

    return {
        "graphql": (
            lambda n: ("/graphql", {"query": query, "variables": variables(0)}, first),
            vary,
        ),
        "baseline": (
            lambda n: (path, variables(0), {}),
            lambda n: (path, variables(n), {}),
        ),
    }


async def same_answers(
    graphql_base: str, baseline_base: str, queries: dict[str, str], targets: Targets
) -> None:
    """The baseline answers exactly what GraphQL answers (else the comparison means nothing)."""
    async with httpx.AsyncClient(timeout=60) as client:
        for kind, query in queries.items():
            makers = requests_for(kind, query, targets)
            for n in (0, 1, 7):
                path, ours, headers = makers["graphql"][1](n)
                a = await client.post(graphql_base + path, json=ours, headers=headers)
                path, theirs, _ = makers["baseline"][1](n)
                b = await client.post(baseline_base + path, json=theirs)
                if a.json() != b.json():
                    raise AssertionError(f"{kind} #{n}: the baseline answers differently")


HEADER = (
    f"{'request':<10}{'answers':<8}{'conc':>5}  {'GraphQL req/s':>14}{'p50 ms':>8}{'p99 ms':>8}"
    f"  {'baseline req/s':>15}{'p50 ms':>8}{'p99 ms':>8}  {'ratio':>6}"
)


def figures(ours: Result, theirs: Result) -> str:
    def three(r: Result, width: int) -> str:
        return f"{r.rate:>{width}.0f}{r.percentile(0.5):>8.1f}{r.percentile(0.99):>8.1f}"

    return f"{three(ours, 14)}  {three(theirs, 15)}  {ours.rate / theirs.rate:>6.2f}"
