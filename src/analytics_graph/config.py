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
        numbers = {
            name: config(ENV_PREFIX + name.upper(), cast=cast)
            for name, cast in _NUMBERS.items()
            if ENV_PREFIX + name.upper() in config.environ
        }
        return cls(
            **numbers,  # type: ignore[arg-type]
            database_url=url or None,
            data_dir=Path(config(ENV_PREFIX + "DATA_DIR", default=".analytics-graph")),
            secret=secret,
            mode=mode,
        )

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=url)


_NUMBERS: dict[str, type[int] | type[float]] = {
    "database_connect_timeout": float,
    "database_acquire_timeout": float,
    "statement_timeout": float,
    "websocket_init_timeout": float,
    "websocket_max_message_bytes": int,
    "websocket_max_operations": int,
    "ingest_remembered_ids": int,
}
