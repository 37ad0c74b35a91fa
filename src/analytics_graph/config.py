"""Settings, read once from the environment into a frozen object.

Nothing else in the package reads ``os.environ``: the composition root builds a
:class:`Settings` with :meth:`Settings.from_environ` and hands it down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from starlette.config import Config
from starlette.datastructures import Secret

ENV_PREFIX = "ANALYTICS_GRAPH_"
# Settings read as ANALYTICS_GRAPH_<NAME IN CAPITALS>, each a positive number.
NUMERIC_SETTINGS: dict[str, type[int] | type[float]] = {
    "ingest_max_body_bytes": int,
    "ingest_max_lines": int,
    "ingest_max_line_bytes": int,
    "ingest_max_shown_rejections": int,
    "retry_after_seconds": int,
    "ready_max_lag_seconds": float,
    "shutdown_grace_seconds": float,
    "database_connect_timeout": float,
    "database_acquire_timeout": float,
    "statement_timeout": float,
    "websocket_init_timeout": float,
    "websocket_max_message_bytes": int,
    "websocket_max_operations": int,
    "ingest_remembered_ids": int,
    "subscription_interval_seconds": float,
    "webhook_metrics_interval_seconds": float,
    "webhook_timeout_seconds": float,
}


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class Settings:
    """What the program needs to know about its surroundings.

    ``database_url`` of ``None`` means: start the embedded PostgreSQL server in
    ``data_dir``. ``secret`` of ``None`` means: generate one into ``data_dir``.
    ``read_database_urls``: streaming replicas (hot standbys) of ``database_url``
    that queries read from (``ANALYTICS_GRAPH_READ_DATABASE_URL``, comma-separated);
    empty: everything reads the primary.
    """

    database_url: str | None = None
    read_database_urls: tuple[str, ...] = ()
    data_dir: Path = Path(".analytics-graph")
    secret: Secret | None = None
    mode: Mode = Mode.DEVELOPMENT
    pool_min_size: int = 2
    pool_max_size: int = 10
    max_ingest_batch: int = 10_000
    signing_key: Secret | None = None
    """The Ed25519 key that signs tree heads (``audit/heads.py``); ``None``: generated
    into ``data_dir``."""
    ingest_max_body_bytes: int = 256 * 1024 * 1024
    """``POST /ingest``: most bytes of a body, compressed and decompressed alike (413)."""
    ingest_max_lines: int = 200_000
    """``POST /ingest``: most lines in one request (413)."""
    ingest_max_line_bytes: int = 64 * 1024
    """Longest NDJSON line over HTTP; a longer one is rejected by its line number."""
    ingest_max_shown_rejections: int = 100
    """How many rejections an ``/ingest`` answer lists (``rejectedCount`` counts all)."""
    retry_after_seconds: int = 2
    """The ``Retry-After`` of a 503 when the database is unreachable or saturated."""
    metrics_token: Secret | None = None
    """Lets non-loopback clients read ``/metrics`` (``Authorization: Bearer <it>``)."""
    ready_max_lag_seconds: float = 60.0
    """``/readyz`` answers 503 while a projection's oldest unapplied event is older."""
    shutdown_grace_seconds: float = 20.0
    """On SIGTERM: how long in-flight requests and ingest batches may take to finish."""
    run_projections: bool = True
    """Whether ``serve`` runs the projections (off: an ingest-only node beside others)."""
    database_connect_timeout: float = 5.0
    """Seconds a new database connection may take before the request fails."""
    database_acquire_timeout: float = 5.0
    """Seconds a request waits for a pooled connection before it answers 503."""
    statement_timeout: float = 60.0
    """Seconds one statement of the pool may run (client side; it is then cancelled)."""
    websocket_init_timeout: float = 10.0
    """Seconds a websocket has to send ``connection_init`` (else closed with 4408)."""
    websocket_max_message_bytes: int = 1024 * 1024
    """Largest websocket message accepted (a larger one closes with 4413)."""
    websocket_max_operations: int = 50
    """Most operations running at once on one websocket."""
    ingest_remembered_ids: int = 1_000_000
    """Event ids the server's ingestor remembers as stored (about 100 bytes each)."""
    ingest_processes: int = 0
    """``POST /ingest`` validated and appended in this many worker processes (0: in the
    serving process). For a node that takes a firehose: about one per core."""
    subscription_interval_seconds: float = 0.25
    """A shared metric subscription sends at most one update per interval."""
    subscription_send_timeout_seconds: float = 10.0
    """A subscriber whose update is not sent within this is closed with 4429."""
    webhooks_allow_private: bool = False
    """Lets webhooks use plain ``http`` and loopback, private and link-local addresses
    (development and tests); off, only ``https`` to public addresses is sent."""
    webhook_timeout_seconds: float = 10.0
    webhook_metrics_interval_seconds: float = 5.0
    """``METRICS_CHANGED`` deliveries to one webhook are at most one per interval."""
    webhook_retry_base_seconds: float = 5.0
    webhook_retry_cap_seconds: float = 3600.0
    webhook_failure_window_seconds: float = 24 * 3600.0
    """A webhook failing for this long (no success since) is disabled."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Reads ``ANALYTICS_GRAPH_*`` variables; raises ``ValueError`` on a bad value."""
        config = Config(environ=dict(os.environ if environ is None else environ))
        url = config(ENV_PREFIX + "DATABASE_URL", default=None)
        secret = config(ENV_PREFIX + "SECRET", cast=Secret, default=None)
        signing_key = config(ENV_PREFIX + "SIGNING_KEY", cast=Secret, default=None)
        mode_name = config(ENV_PREFIX + "MODE", default=Mode.DEVELOPMENT.value)
        try:
            mode = Mode(mode_name)
        except ValueError:
            allowed = ", ".join(m.value for m in Mode)
            raise ValueError(f"{ENV_PREFIX}MODE: {mode_name!r} is not one of {allowed}") from None

        def number(name: str, cast: type[int] | type[float]) -> dict[str, int | float]:
            key = name.upper()
            if ENV_PREFIX + key not in config.environ:
                return {}
            text = config(ENV_PREFIX + key)
            try:
                value = cast(text)
            except ValueError:
                raise ValueError(f"{ENV_PREFIX}{key}: {text!r} is not a number") from None
            if value <= 0:
                raise ValueError(f"{ENV_PREFIX}{key}: must be > 0")
            return {name: value}

        numbers: dict[str, int | float] = {}
        for name, cast in NUMERIC_SETTINGS.items():
            numbers.update(number(name, cast))
        replicas = config(ENV_PREFIX + "READ_DATABASE_URL", default="")
        return cls(
            webhooks_allow_private=config(
                ENV_PREFIX + "WEBHOOKS_ALLOW_PRIVATE", cast=bool, default=False
            ),
            **numbers,  # type: ignore[arg-type]
            database_url=url or None,
            read_database_urls=tuple(u.strip() for u in replicas.split(",") if u.strip()),
            data_dir=Path(config(ENV_PREFIX + "DATA_DIR", default=".analytics-graph")),
            secret=secret,
            signing_key=signing_key,
            mode=mode,
            metrics_token=config(ENV_PREFIX + "METRICS_TOKEN", cast=Secret, default=None),
            run_projections=config(ENV_PREFIX + "RUN_PROJECTIONS", cast=bool, default=True),
            ingest_processes=_count(config, "INGEST_PROCESSES"),
        )

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=url)


def _count(config: Config, key: str, limit: int = 64) -> int:
    """``ANALYTICS_GRAPH_<key>``: a whole number from 0 to ``limit`` (default 0)."""
    text = config(ENV_PREFIX + key, default="0")
    if not text.isdigit() or int(text) > limit:
        raise ValueError(f"{ENV_PREFIX}{key}: {text!r} is not a whole number from 0 to {limit}")
    return int(text)
