"""The sender: delivers pending deliveries, at least once and in order per endpoint.

One process of a cluster sends (an advisory lock; the others stand by). Each
endpoint has at most one request in flight: its oldest pending delivery, once
due. An attempt is first *claimed* (its ``attempts`` counted and its next attempt
pushed past the request's timeout), then sent, then its outcome recorded; a
crash in between leaves it pending, so it is sent again (same ``webhook-id``:
receivers deduplicate by it).

Failures (no connection, a timeout, a redirect, any status but 2xx) are retried
with exponential backoff and jitter (``retry_base`` doubling per attempt, at
most ``retry_cap``); an endpoint with no success for ``failure_window`` is
disabled and its ``disabled_reason`` says why. Requests go to the address that
``UrlPolicy`` checked, without following redirects, with timeouts, reading at
most ``MAX_RESPONSE_BYTES`` of a response. Secrets are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import httpx

from analytics_graph.projection.connection import dedicated_connection
from analytics_graph.types import Connection
from analytics_graph.webhooks import signing
from analytics_graph.webhooks.addresses import UnsafeUrl, UrlPolicy
from analytics_graph.webhooks.deliveries import MAX_ERROR

log = logging.getLogger(__name__)
LOCK = "analytics_graph.webhooks.sender"
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "analytics-graph-webhooks/1"
SAFE = UrlPolicy()


@dataclass(frozen=True, slots=True)
class SendOptions:
    """How the sender behaves; see the module docstring."""

    policy: UrlPolicy = SAFE
    timeout: float = 10.0
    retry_base: float = 5.0
    retry_cap: float = 3600.0
    failure_window: float = 24 * 3600.0
    concurrency: int = 64
    poll_interval: float = 1.0
    retry_interval: float = 1.0


def backoff(attempts: int, options: SendOptions) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: exponential, at
    most ``retry_cap``, with +-25% jitter (so endpoints that failed together do not
    all come back at the same instant)."""
    delay = min(options.retry_cap, options.retry_base * 2.0 ** min(attempts - 1, 40))
    return float(delay) * random.uniform(0.75, 1.25)


@dataclass(frozen=True, slots=True)
class Head:
    """An endpoint's oldest pending delivery."""

    delivery_id: int
    webhook_id: UUID
    url: str
    secret: str
    due: datetime


HEADS_SQL = """
SELECT DISTINCT ON (d.webhook_id) d.delivery_id, d.webhook_id, d.next_attempt_at,
       e.url, e.secret, now() AS now
FROM webhook_deliveries d JOIN webhook_endpoints e USING (webhook_id)
WHERE d.status = 'pending' AND e.enabled
ORDER BY d.webhook_id, d.delivery_id
"""
CLAIM_SQL = """
UPDATE webhook_deliveries SET attempts = attempts + 1,
    next_attempt_at = now() + make_interval(secs => $2)
WHERE delivery_id = $1 AND status = 'pending' AND next_attempt_at <= now()
RETURNING message_id, body, attempts
"""
SUCCESS_SQL = """
WITH d AS (
    UPDATE webhook_deliveries SET status = 'delivered', response_status = $2,
        last_error = NULL, delivered_at = now()
    WHERE delivery_id = $1 RETURNING webhook_id)
UPDATE webhook_endpoints SET failing_since = NULL WHERE webhook_id = (SELECT webhook_id FROM d)
"""
FAILING_SQL = """
UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())
WHERE webhook_id = $1
RETURNING failing_since, now() - failing_since >= make_interval(secs => $2) AS expired
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got: a status (``None``: no response) and, if failed, why."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


async def post(
    client: httpx.AsyncClient, options: SendOptions, url: str, headers: dict[str, str], body: bytes
) -> Outcome:
    """One request to the checked address of ``url``; never raises for its failures."""
    try:
        target = await options.policy.resolve(url)
    except UnsafeUrl as error:
        return Outcome(None, f"refused: {error}")
    headers = {**headers, "host": target.host_header, "user-agent": USER_AGENT}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        async with asyncio.timeout(options.timeout * 2):
            request = client.build_request(
                "POST", target.pinned_url, headers=headers, content=body, extensions=extensions
            )
            response = await client.send(request, stream=True)
            try:
                text = await _capped(response)
            finally:
                await response.aclose()
    except TimeoutError:
        return Outcome(None, f"timed out after {options.timeout * 2:g} s")
    except httpx.TimeoutException as error:
        return Outcome(None, f"timed out: {type(error).__name__}")
    except httpx.HTTPError as error:
        return Outcome(None, f"request failed: {type(error).__name__}: {error}"[:MAX_ERROR])
    if 200 <= response.status_code < 300:
        return Outcome(response.status_code, None)
    if response.is_redirect:
        reason = f"HTTP {response.status_code}: redirects are not followed"
        return Outcome(response.status_code, reason)
    return Outcome(response.status_code, f"HTTP {response.status_code}: {text}"[:MAX_ERROR])


async def _capped(response: httpx.Response) -> str:
    """Up to ``MAX_RESPONSE_BYTES`` of the body, as text (for the error message)."""
    chunks, size = [], 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:MAX_RESPONSE_BYTES].decode("utf-8", "replace").strip()


class Sender:
    """Delivers while this process holds the sender's lock."""

    def __init__(self, url: str, pool: asyncpg.Pool, options: SendOptions) -> None:
        self._url = url
        self._pool = pool
        self.options = options
        self._in_flight: dict[UUID, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self.sent = 0
        """Attempts made by this sender (for benchmarks and tests)."""

    async def run(self) -> None:
        """Works until cancelled; after a failure, starts over."""
        while True:
            try:
                async with dedicated_connection(self._url) as conn:
                    while not await conn.fetchval(  # noqa: ASYNC110 - the server holds the lock
                        "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", LOCK
                    ):
                        await asyncio.sleep(self.options.retry_interval)
                    await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the webhook sender failed; restarting")
                await asyncio.sleep(self.options.retry_interval)
            finally:
                await self._cancel_in_flight()

    async def _cancel_in_flight(self) -> None:
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._in_flight.clear()

    def poke(self) -> None:
        """Deliveries may be due now (the dispatcher of this process wrote some).
        Deliveries written elsewhere are found within ``poll_interval``."""
        self._wake.set()

    async def _lead(self) -> None:
        limits = httpx.Limits(max_connections=self.options.concurrency)
        timeout = httpx.Timeout(self.options.timeout)
        async with httpx.AsyncClient(
            timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
        ) as client:
            try:
                while True:
                    self._wake.clear()
                    pause = await self._start_due(client)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(pause):
                            await self._wake.wait()
            finally:  # before the client closes under them
                await self._cancel_in_flight()

    async def _start_due(self, client: httpx.AsyncClient) -> float:
        """Starts an attempt for every due head not in flight; returns how long until
        the next head falls due (at most the poll interval)."""
        rows = await self._pool.fetch(HEADS_SQL)
        pause = self.options.poll_interval
        for row in rows:
            webhook = row["webhook_id"]
            if webhook in self._in_flight or len(self._in_flight) >= self.options.concurrency:
                continue
            wait = (row["next_attempt_at"] - row["now"]).total_seconds()
            if wait > 0:
                pause = min(pause, wait)
                continue
            head = Head(
                row["delivery_id"], webhook, row["url"], row["secret"], row["next_attempt_at"]
            )
            task = asyncio.create_task(self._attempt(client, head), name=f"webhook-{webhook}")
            self._in_flight[webhook] = task
            task.add_done_callback(functools.partial(self._finish, webhook))
        return max(pause, 0.001)

    def _finish(self, webhook: UUID, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(webhook, None)
        self._wake.set()

    async def _attempt(self, client: httpx.AsyncClient, head: Head) -> None:
        try:
            lease = self.options.timeout * 2 + 5
            claimed = await self._pool.fetchrow(CLAIM_SQL, head.delivery_id, lease)
            if claimed is None:
                return
            body = claimed["body"].encode()
            stamp = int(time.time())
            headers = signing.headers(head.secret, claimed["message_id"], stamp, body)
            outcome = await post(client, self.options, head.url, headers, body)
            self.sent += 1
            await self._record(head, claimed["attempts"], outcome)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook %s: delivery %s failed", head.webhook_id, head.delivery_id)

    async def _record(self, head: Head, attempts: int, outcome: Outcome) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if outcome.ok:
                await conn.execute(SUCCESS_SQL, head.delivery_id, outcome.status)
                return
            log.info(
                "webhook %s: delivery %s attempt %s failed: %s",
                head.webhook_id, head.delivery_id, attempts, outcome.error,
            )  # fmt: skip
            failing = await conn.fetchrow(FAILING_SQL, head.webhook_id, self.options.failure_window)
            assert failing is not None
            if failing["expired"]:
                await _disable(conn, head, outcome, failing["failing_since"])
                return
            await conn.execute(
                """UPDATE webhook_deliveries SET response_status = $2, last_error = $3,
                next_attempt_at = now() + make_interval(secs => $4) WHERE delivery_id = $1""",
                head.delivery_id,
                outcome.status,
                outcome.error,
                backoff(attempts, self.options),
            )


async def _disable(conn: Connection, head: Head, outcome: Outcome, since: datetime) -> None:
    reason = (
        f"no successful delivery since {since:%Y-%m-%d %H:%M:%S} UTC; last error: {outcome.error}"
    )
    await conn.execute(
        "UPDATE webhook_deliveries SET status = 'failed', response_status = $2, last_error = $3"
        " WHERE delivery_id = $1",
        head.delivery_id,
        outcome.status,
        outcome.error,
    )
    await conn.execute(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2 WHERE webhook_id = $1",
        head.webhook_id,
        reason[:MAX_ERROR],
    )
    log.warning("webhook %s disabled: %s", head.webhook_id, reason)
