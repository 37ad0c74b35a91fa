"""The reference collector: posts NDJSON to a server's ``POST /ingest`` in chunks.

Usage (what ``analytics-graph ingest FILE --url URL --token T`` runs)::

    with open("events.ndjson", "rb") as stream:
        summary = await post_all("http://host:8000", token, stream, batch_size=10_000)

Each chunk of ``batch_size`` lines is one request, so one unit: written whole or
not at all. A chunk is sent again after a 503 (waiting its ``Retry-After``), a
connection failure or another 5xx, with growing pauses, up to ``MAX_ATTEMPTS``
times: resending is safe because the server stores an ``eventId`` once. Up to
``writers`` requests are in flight at once. Rejected lines are reported with
their line numbers in the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from typing import IO, Any, Final

import httpx

from analytics_graph.ingest.ndjson import LineBatch, read_stripped_batches
from analytics_graph.ingest.outcome import IngestOutcome, Summary
from analytics_graph.ingest.rejections import Rejection

MAX_ATTEMPTS: Final = 30
MAX_PAUSE: Final = 30.0
REQUEST_TIMEOUT: Final = 300.0


class CollectorError(Exception):
    """The server refused a chunk for good (or kept failing); the run stops."""


def _uses_tls(url: str) -> bool:
    """Whether a request to ``url`` may use TLS: an https URL, or any proxy set in the
    environment (httpx follows them). Only then is the CA bundle worth loading (about
    50 ms of CPU, a sixth of a collector's start)."""
    return url.lower().startswith("https:") or any(
        name.lower().endswith("_proxy") for name in os.environ
    )


def _pause(response: httpx.Response | None, attempt: int) -> float:
    backoff: float = min(MAX_PAUSE, 0.25 * 2**attempt)
    if response is None:
        return backoff
    retry_after = str(response.headers.get("retry-after", ""))
    return min(MAX_PAUSE, float(retry_after)) if retry_after.isdigit() else backoff


def _outcome(batch: LineBatch, answer: dict[str, Any]) -> tuple[IngestOutcome, int]:
    """The answer as an outcome (rejections numbered as in the file), and how many
    rejections the server counted beyond those it listed."""
    offset = batch.first_line - 1
    shown = tuple(
        Rejection(r["line"] + offset, r.get("field"), r["reason"]) for r in answer["rejected"]
    )
    count = int(answer["rejectedCount"])
    whole = not answer["written"]
    outcome = IngestOutcome(
        size=len(batch.lines),
        accepted=int(answer["accepted"]),
        duplicates=int(answer["duplicates"]),
        rejections=shown,
        rejected_whole=whole,
        not_written=(len(batch.lines) - count) if whole else 0,
        position=answer.get("position"),
    )
    return outcome, count - len(shown)


async def post_batch(
    client: httpx.AsyncClient, batch: LineBatch, *, skip_invalid: bool
) -> dict[str, Any]:
    """Posts one chunk until the server answers it (200 or 422); returns the answer."""
    params = {"skipInvalid": "true"} if skip_invalid else {}
    content = b"\n".join(batch.lines) + b"\n"  # lines of read_stripped_batches
    for attempt in range(MAX_ATTEMPTS):
        try:
            response = await client.post("/ingest", content=content, params=params)
        except httpx.TransportError:
            await asyncio.sleep(_pause(None, attempt))
            continue
        if response.status_code in (200, 422):
            answer: dict[str, Any] = response.json()
            return answer
        if response.status_code in (503, 502, 504, 500, 429):
            await asyncio.sleep(_pause(response, attempt))
            continue
        raise CollectorError(
            f"lines {batch.first_line}-{batch.last_line}: the server answered"
            f" {response.status_code}: {_message(response)}"
        )
    raise CollectorError(
        f"lines {batch.first_line}-{batch.last_line}: no answer after {MAX_ATTEMPTS} attempts"
    )


def _message(response: httpx.Response) -> str:
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return str(response.json()["error"]["message"])
    return response.text[:200]


async def post_all(
    url: str,
    token: str | None,
    stream: IO[bytes],
    *,
    batch_size: int,
    skip_invalid: bool = False,
    writers: int = 1,
) -> Summary:
    """Posts every chunk of ``stream`` to ``url``; returns the totals (stops at a
    chunk the server refuses for good, after the chunks in flight are answered)."""
    # One id for all of this run's connections: a server with ingest workers sends
    # them to one worker, which then knows what this run stored (ingest/workers.py).
    headers = {"Content-Type": "application/x-ndjson", "X-Collector-ID": os.urandom(8).hex()}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    summary = Summary()
    pending: deque[tuple[LineBatch, asyncio.Task[dict[str, Any]]]] = deque()
    timeout = httpx.Timeout(REQUEST_TIMEOUT, connect=10.0)
    # Without TLS in play, verify=False only spares loading the CA bundle: no
    # connection of this client has a certificate to verify.
    verify = _uses_tls(url)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=timeout, verify=verify
    ) as client:

        def settle(batch: LineBatch, answer: dict[str, Any]) -> None:
            outcome, unlisted = _outcome(batch, answer)
            summary.add(batch, outcome)
            summary.rejected += unlisted

        try:
            for batch in read_stripped_batches(stream, batch_size):
                while len(pending) >= writers:
                    settle(*await _first(pending))
                post = post_batch(client, batch, skip_invalid=skip_invalid)
                pending.append((batch, asyncio.create_task(post)))
                await asyncio.sleep(0)  # the request starts out before the next chunk is read
            while pending:
                settle(*await _first(pending))
        except CollectorError as exc:
            summary.failure = str(exc)
            while pending:
                with contextlib.suppress(CollectorError):
                    settle(*await _first(pending))
    return summary


async def _first(
    pending: deque[tuple[LineBatch, asyncio.Task[dict[str, Any]]]],
) -> tuple[LineBatch, dict[str, Any]]:
    batch, task = pending.popleft()
    return batch, await task
