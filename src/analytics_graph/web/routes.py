"""The routes of the dashboard page: ``/`` and ``/static/...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static"

# The page and its modules come from this server only; the API is on the same origin
# (HTTP and its websocket: CSP 3 counts ws: to the same host as 'self'). Charts draw
# on canvases; the page has no inline script (uPlot sets styles, hence 'unsafe-inline').
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


async def _page(request: Request) -> Response:
    return FileResponse(
        STATIC_DIR / "index.html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
            "Referrer-Policy": "no-referrer",
        },
    )


class RevalidatedFiles(StaticFiles):
    """Static files that a browser revalidates (``ETag``, a 304 when unchanged) before
    each use, so the page's modules never outlive an upgrade of the package."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def web_routes() -> list[BaseRoute]:
    """``GET /`` (the dashboard's single page) and the package's static files."""
    return [
        Route("/", _page, methods=["GET", "HEAD"]),
        Mount(STATIC_PATH, RevalidatedFiles(directory=STATIC_DIR), name="static"),
    ]
