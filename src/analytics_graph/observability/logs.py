"""Logging: one JSON object per line in production, readable lines in development.

Usage (once, at process start; ``serve`` does it)::

    configure_logging(settings.mode)
    log.info("request", extra={"fields": {"status": 200, "duration_ms": 3.1}})

Every record carries the request id of the request being served (the
``request_id`` context variable, set by the middleware). Fields are given
explicitly (``extra={"fields": ...}``), and whatever ends up in a line is
scrubbed of bearer tokens and JWTs, so a token never reaches the logs even
through an exception message.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from analytics_graph.config import Mode

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

_SECRETS: Final = re.compile(r"(?i)(bearer\s+)\S+|eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]+")
# Attributes every LogRecord has: anything else was passed in ``extra``.
_STANDARD: Final = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def scrub(text: str) -> str:
    """``text`` without bearer tokens or JWTs."""
    return _SECRETS.sub(lambda m: (m.group(1) or "") + "[redacted]", text)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        entry.update(_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return scrub(orjson.dumps(entry, default=str).decode())


class ConsoleFormatter(logging.Formatter):
    """``12:00:01 INFO logger [request id] message key=value ...``"""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        rid = request_id.get()
        parts = [moment, f"{record.levelname:<7}", record.name]
        if rid is not None:
            parts.append(f"[{rid}]")
        parts.append(record.getMessage())
        parts.extend(f"{key}={value}" for key, value in _fields(record).items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return scrub(line)


def configure_logging(mode: Mode, level: int = logging.INFO) -> None:
    """Routes every logger (uvicorn's too) to standard error in ``mode``'s format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if mode is Mode.PRODUCTION else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # The middleware logs every request with its id; uvicorn's access line would repeat it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
