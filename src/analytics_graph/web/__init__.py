"""The dashboard page and the offline GraphiQL page: static files shipped in the package.

``web_routes()`` serves the dashboard's single page at ``/`` and the package's static
files (the page's ES modules, its style sheet and the vendored libraries, see
``static/vendor/VENDOR.md``) under ``/static/``; ``graphiql_html()`` is the GraphiQL page
with its assets taken from there. Nothing is fetched from another host at run time.
"""

from __future__ import annotations

from analytics_graph.web.graphiql import graphiql_html
from analytics_graph.web.routes import STATIC_PATH, web_routes

__all__ = ["STATIC_PATH", "graphiql_html", "web_routes"]
