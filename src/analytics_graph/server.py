"""The HTTP server process: uvicorn running the app, with logs and a graceful stop.

On SIGTERM (what ``docker stop`` and Kubernetes send) the server stops
accepting connections, lets in-flight requests (and so ingest requests, each
one transaction) finish within ``shutdown_grace_seconds``, closes websockets
with code 1012 (service restart: clients reconnect), then leaves the app's
lifespan: the projections stop at a batch boundary and the pool closes. The
process then exits with status 0. Requests still running at the deadline are
cancelled: their transactions roll back, so nothing is half-written and a
collector that got no answer resends.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from analytics_graph.config import Settings
from analytics_graph.observability.logs import configure_logging

log = logging.getLogger(__name__)
EXIT_STARTUP_FAILURE = 3


class _Server(uvicorn.Server):
    """uvicorn's server, but a SIGTERM is a normal end (exit 0), not re-raised."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM:
            log.info("SIGTERM received: finishing in-flight requests, then stopping")
            self.should_exit = True
            return
        super().handle_exit(sig, frame)


def run_server(settings: Settings, app: Starlette, host: str, port: int) -> None:
    """Serves ``app`` until SIGTERM or SIGINT; configures logging for ``settings.mode``."""
    configure_logging(settings.mode)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
        ws_max_size=settings.websocket_max_message_bytes,
    )
    server = _Server(config)
    server.run()
    if not server.started:
        sys.exit(EXIT_STARTUP_FAILURE)
    log.info("stopped")
