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
        replicas = config(ENV_PREFIX + "READ_DATABASE_URL", default="")
        return cls(
            database_url=url or None,
            read_database_urls=tuple(u.strip() for u in replicas.split(",") if u.strip()),
            data_dir=Path(config(ENV_PREFIX + "DATA_DIR", default=".analytics-graph")),
            secret=secret,
            mode=mode,
        )

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=url)
