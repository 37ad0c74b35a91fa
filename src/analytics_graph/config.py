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


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class Settings:
    """What the program needs to know about its surroundings.

    ``database_url`` of ``None`` means: start the embedded PostgreSQL server in
    ``data_dir``. ``secret`` of ``None`` means: generate one into ``data_dir``.
    """

    database_url: str | None = None
    data_dir: Path = Path(".analytics-graph")
    secret: Secret | None = None
    mode: Mode = Mode.DEVELOPMENT
    pool_min_size: int = 2
    pool_max_size: int = 10
    max_ingest_batch: int = 10_000
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
        mode_name = config(ENV_PREFIX + "MODE", default=Mode.DEVELOPMENT.value)
        try:
            mode = Mode(mode_name)
        except ValueError:
            allowed = ", ".join(m.value for m in Mode)
            raise ValueError(f"{ENV_PREFIX}MODE: {mode_name!r} is not one of {allowed}") from None
        allow_private = config(ENV_PREFIX + "WEBHOOKS_ALLOW_PRIVATE", cast=bool, default=False)
        return cls(
            webhooks_allow_private=allow_private,
            database_url=url or None,
            data_dir=Path(config(ENV_PREFIX + "DATA_DIR", default=".analytics-graph")),
            secret=secret,
            mode=mode,
        )

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=url)
