"""The process's Prometheus metrics, in one registry of their own.

Counters and histograms are recorded where things happen (ingest paths, the
append, GraphQL answers, subscriptions); gauges of state held elsewhere (the
projections' positions and lag, the pool, the answer cache) are sampled when
``/metrics`` is scraped (``probes.py``). Names follow the Prometheus
conventions: ``analytics_graph_<what>_total`` for counters, ``_seconds`` for
durations.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from analytics_graph.ingest.outcome import IngestOutcome

REGISTRY: Final = CollectorRegistry(auto_describe=True)
PATHS: Final = ("cli", "http", "graphql")

EVENTS: Final = Counter(
    "analytics_graph_ingest_events_total",
    "Engagement events received, by path (cli, http, graphql) and result "
    "(accepted: newly stored; duplicate: eventId already stored; rejected: invalid).",
    ["path", "result"],
    registry=REGISTRY,
)
INGEST_REQUESTS: Final = Histogram(
    "analytics_graph_ingest_request_seconds",
    "Time to validate and append one ingest request or batch, by path.",
    ["path"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGEST_UNAVAILABLE: Final = Counter(
    "analytics_graph_ingest_unavailable_total",
    "Ingest requests answered 503 because the database was unreachable or saturated.",
    registry=REGISTRY,
)
APPEND_SECONDS: Final = Histogram(
    "analytics_graph_append_seconds",
    "Time of one bulk append to the event log (one transaction).",
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
INGEST_WORKERS: Final = Gauge(
    "analytics_graph_ingest_workers",
    "Ingest worker processes running (ANALYTICS_GRAPH_INGEST_PROCESSES).",
    registry=REGISTRY,
)
INGEST_WORKER_RESTARTS: Final = Counter(
    "analytics_graph_ingest_worker_restarts_total",
    "Ingest worker processes started again after theirs ended unexpectedly.",
    registry=REGISTRY,
)
GRAPHQL_SECONDS: Final = Histogram(
    "analytics_graph_graphql_request_seconds",
    "GraphQL HTTP requests, by operation name and outcome (ok, error).",
    ["operation", "outcome"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SUBSCRIPTIONS: Final = Gauge(
    "analytics_graph_subscriptions_open",
    "GraphQL subscriptions running over websockets.",
    registry=REGISTRY,
)
HTTP_REQUESTS: Final = Counter(
    "analytics_graph_http_requests_total",
    "HTTP requests answered, by route and status code.",
    ["route", "status"],
    registry=REGISTRY,
)

# Operation names come from clients: at most this many distinct ones get a series.
MAX_OPERATION_NAMES: Final = 200
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
_operations: set[str] = set()


def operation_label(name: object) -> str:
    """A bounded label for a client's operation name (``anonymous``, ``other``)."""
    if not isinstance(name, str) or not name:
        return "anonymous"
    if name in _operations:
        return name
    if not _NAME.match(name) or len(_operations) >= MAX_OPERATION_NAMES:
        return "other"
    _operations.add(name)
    return name


def count_ingest(path: str, outcome: IngestOutcome, seconds: float | None = None) -> None:
    """Counts one batch's (or request's) events under ``path``."""
    count_events(path, outcome.accepted, outcome.duplicates, len(outcome.rejections), seconds)


def count_events(
    path: str, accepted: int, duplicates: int, rejected: int, seconds: float | None = None
) -> None:
    """Counts one batch's (or request's) events under ``path``, by result, and its time."""
    if accepted:
        EVENTS.labels(path, "accepted").inc(accepted)
    if duplicates:
        EVENTS.labels(path, "duplicate").inc(duplicates)
    if rejected:
        EVENTS.labels(path, "rejected").inc(rejected)
    if seconds is not None:
        INGEST_REQUESTS.labels(path).observe(seconds)


for _path in PATHS:  # every series exists from the start (rates need a zero)
    for _result in ("accepted", "duplicate", "rejected"):
        EVENTS.labels(_path, _result)
