"""``/healthz`` (liveness), ``/readyz`` (readiness) and ``/metrics`` (Prometheus).

- ``/healthz``: 200 while the process serves and the database answers (with the
  log's position), 503 otherwise. For restarts: a process that fails it is stuck.
- ``/readyz``: 200 only when the database answers, every migration is applied
  and every projection's live tables are within ``ready_max_lag_seconds`` of the
  log (not checked on a node that runs no projections); 503 with the reasons
  otherwise. For load balancers: send traffic or not.
- ``/metrics``: the Prometheus text format. Served to loopback clients, and to
  others only with ``Authorization: Bearer <ANALYTICS_GRAPH_METRICS_TOKEN>``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Iterable
from typing import Any

import asyncpg
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import projections
from analytics_graph.bootstrap import System
from analytics_graph.errors import StoreError
from analytics_graph.eventstore import EventStore
from analytics_graph.observability.metrics import REGISTRY
from analytics_graph.projection.lag import Lag, lags

PROBE_TIMEOUT = 5.0
FAILURES = (StoreError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


def _store(request: Request) -> EventStore:
    system: System = request.app.state.system
    timeout = system.settings.database_acquire_timeout
    return EventStore(system.pool, acquire_timeout=min(timeout, PROBE_TIMEOUT))


async def healthz(request: Request) -> JSONResponse:
    """200 with the log's position when the database answers, 503 otherwise."""
    try:
        position = await _store(request).last_position()
    except FAILURES as exc:
        return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "position": position})


async def _lags(system: System) -> list[Lag]:
    timeout = min(system.settings.database_acquire_timeout, PROBE_TIMEOUT)
    async with system.pool.acquire(timeout=timeout) as conn:
        return await lags(conn)


async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers, migrations are applied and projections keep up."""
    system: System = request.app.state.system
    bound = system.settings.ready_max_lag_seconds
    try:
        store = _store(request)
        position = await store.last_position()
        pending = await store.pending_migrations()
        found = {lag.name: lag for lag in await _lags(system)}
    except FAILURES as exc:
        failed = {"status": "unavailable", "reasons": [f"database: {exc}"]}
        return JSONResponse(failed, status_code=503)
    reasons = [f"migrations not applied: {pending}"] if pending else []
    # An ingest-only node (projections run elsewhere) is ready whatever their lag.
    followed = projections.ALL if system.settings.run_projections else ()
    for projection in followed:
        lag = found.get(projection.name)
        if lag is None:
            reasons.append(f"projection {projection.name}: no live tables yet")
        elif lag.seconds > bound:
            reasons.append(
                f"projection {projection.name}: {lag.events} events behind,"
                f" {lag.seconds:.1f}s (bound {bound}s)"
            )
    body: dict[str, Any] = {
        "status": "not ready" if reasons else "ready",
        "position": position,
        "projections": {
            name: {"position": lag.position, "lagEvents": lag.events, "lagSeconds": lag.seconds}
            for name, lag in found.items()
        },
    }
    if reasons:
        body["reasons"] = reasons
    return JSONResponse(body, status_code=503 if reasons else 200)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed(request: Request, system: System) -> bool:
    if _loopback(request):
        return True
    token = system.settings.metrics_token
    if token is None:
        return False
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip(), str(token))


class _Sampled:
    """A collector of values sampled just before a scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def _projection_families(found: list[Lag]) -> list[Metric]:
    position = GaugeMetricFamily(
        "analytics_graph_projection_position",
        "Last log position applied to each projection's live tables.",
        labels=["projection"],
    )
    events = GaugeMetricFamily(
        "analytics_graph_projection_lag_events",
        "Events recorded after each projection's position (counted up to 1,000,000).",
        labels=["projection"],
    )
    seconds = GaugeMetricFamily(
        "analytics_graph_projection_lag_seconds",
        "Age of the oldest event not yet applied to each projection (0 when caught up).",
        labels=["projection"],
    )
    for lag in found:
        position.add_metric([lag.name], lag.position)
        events.add_metric([lag.name], lag.events)
        seconds.add_metric([lag.name], lag.seconds)
    return [position, events, seconds]


def _waiting(pool: asyncpg.Pool) -> int:
    # asyncpg has no public count of waiting acquirers: its queue's waiters are it.
    getters = getattr(getattr(pool, "_queue", None), "_getters", ())
    return sum(1 for waiter in getters if not waiter.done())


def _pool_families(pool: asyncpg.Pool) -> list[Metric]:
    connections = GaugeMetricFamily(
        "analytics_graph_db_pool_connections",
        "Connections of the database pool, by state (in_use, idle, waiting: acquirers"
        " queued for one, max: the pool's limit).",
        labels=["state"],
    )
    size, idle = pool.get_size(), pool.get_idle_size()
    connections.add_metric(["in_use"], size - idle)
    connections.add_metric(["idle"], idle)
    connections.add_metric(["waiting"], _waiting(pool))
    connections.add_metric(["max"], pool.get_max_size())
    return [connections]


def _cache_families(request: Request) -> list[Metric]:
    graphql = getattr(request.app.state, "graphql", None)
    answers = getattr(getattr(graphql, "http", None), "answers", None)
    if answers is None:
        return []
    family = CounterMetricFamily(
        "analytics_graph_answer_cache_requests",
        "GraphQL query answers looked up in the answer cache, by result (hit, miss).",
        labels=["result"],
    )
    family.add_metric(["hit"], answers.hits)
    family.add_metric(["miss"], answers.misses)
    return [family]


async def metrics_endpoint(request: Request) -> Response:
    """The Prometheus text format (loopback, or the metrics token)."""
    system: System = request.app.state.system
    if not _allowed(request, system):
        message = (
            "metrics are served to loopback clients, or with"
            " 'Authorization: Bearer <ANALYTICS_GRAPH_METRICS_TOKEN>'"
        )
        return JSONResponse({"error": {"code": "FORBIDDEN", "message": message}}, 403)
    families = _pool_families(system.pool) + _cache_families(request)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            lags = await _lags(system)
        families += _projection_families(lags)
    except (*FAILURES, TimeoutError):
        pass  # the database is down: the other metrics still tell what happens
    sampled = CollectorRegistry(auto_describe=True)
    sampled.register(_Sampled(families))
    body = generate_latest(REGISTRY) + generate_latest(sampled)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def probe_routes() -> list[BaseRoute]:
    """``/healthz``, ``/readyz`` and ``/metrics``; they find the system in the app's state."""
    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
    ]
