"""The dashboard's files: what the pages load is in the package (and in its package
data), nothing names another host, and the routes serve them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import httpx
from starlette.applications import Starlette

from analytics_graph.web import graphiql_html, web_routes
from analytics_graph.web.routes import STATIC_DIR

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "analytics_graph"
WEB = PACKAGE / "web"
OURS = [
    *sorted((STATIC_DIR / "app").rglob("*.js")),
    STATIC_DIR / "app" / "style.css",
    STATIC_DIR / "index.html",
    STATIC_DIR / "graphiql.js",
    WEB / "templates" / "graphiql.html",
]
STATIC_URL = re.compile(r"""["'(](/static/[^"')\s]+)""")
RELATIVE_IMPORT = re.compile(r"""from\s+["'](\.{1,2}/[^"']+)["']""")


def _static_urls(text: str) -> set[str]:
    return set(STATIC_URL.findall(text))


def test_our_files_name_no_other_host() -> None:
    for path in OURS:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), path


def test_every_file_a_page_loads_is_in_the_package() -> None:
    urls = _static_urls(graphiql_html())
    for path in OURS:
        urls |= _static_urls(path.read_text(encoding="utf-8"))
        for target in RELATIVE_IMPORT.findall(path.read_text(encoding="utf-8")):
            assert (path.parent / target).resolve().is_file(), (path, target)
    assert "/static/vendor/graphiql/graphiql.min.js" in urls
    assert "/static/vendor/uplot/uPlot.esm.js" in urls
    for url in urls:
        assert (STATIC_DIR / url.removeprefix("/static/")).is_file(), url


def test_package_data_covers_the_web_files() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["analytics_graph"]
    covered = {p for pattern in patterns for p in PACKAGE.glob(pattern) if p.is_file()}
    files = {p for folder in ("static", "templates") for p in (WEB / folder).rglob("*")}
    assert {p for p in files if p.is_file()} - covered == set()


def test_each_vendored_library_ships_its_licence() -> None:
    vendor = STATIC_DIR / "vendor"
    listed = (vendor / "VENDOR.md").read_text()
    for folder in (p for p in vendor.iterdir() if p.is_dir()):
        assert any(f.name.startswith("LICENSE") for f in folder.iterdir()), folder
        assert f"| {folder.name} |" in listed, folder


async def test_the_routes_serve_the_page_and_its_files() -> None:
    transport = httpx.ASGITransport(app=Starlette(routes=web_routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        module = await client.get("/static/app/main.js")
        assert module.status_code == 200
        assert "javascript" in module.headers["content-type"]
        assert module.headers["cache-control"] == "no-cache"
        again = await client.get(
            "/static/app/main.js", headers={"if-none-match": module.headers["etag"]}
        )
        assert again.status_code == 304
        assert (await client.get("/static/../routes.py")).status_code == 404
        assert (await client.get("/static/app/missing.js")).status_code == 404
