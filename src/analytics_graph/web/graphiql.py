"""The GraphiQL page, loading React and GraphiQL from the package's static files."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from analytics_graph.web.routes import STATIC_PATH

TEMPLATE = Path(__file__).parent / "templates" / "graphiql.html"


@cache
def graphiql_html(static_path: str = STATIC_PATH) -> str:
    """The page's HTML with its asset URLs under ``static_path`` (served by ``web_routes``).

    It runs queries against the address it is served at (``/graphql``) and subscriptions
    over a websocket at the same address; ``?q=``, ``?variables=`` and ``?headers=`` fill
    its editors (the links ``serve --demo`` prints use them)."""
    return TEMPLATE.read_text(encoding="utf-8").replace("{{static}}", static_path)
