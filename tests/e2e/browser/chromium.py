"""Debian's chromium driven by Playwright, as the browser tests and ``scripts/screenshots``
use it: the system's executable (Playwright downloads nothing), headless, and every
request to a host other than the server under test refused and recorded."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    ViewportSize,
    async_playwright,
)

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}


def executable() -> str:
    """The system's chromium (``apt-get install chromium``); raises when it is missing."""
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError("no chromium on PATH: apt-get install -y chromium")
    return path


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless chromium for the block's duration."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable(), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Network:
    """What a context asked for: every URL, and those refused (not on this machine)."""

    requested: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def route(self, route: Route) -> None:
        url = route.request.url
        self.requested.append(url)
        scheme, host = urlsplit(url).scheme, urlsplit(url).hostname
        if scheme in {"data", "blob"} or host in LOCAL_HOSTS:
            await route.continue_()
        else:
            self.refused.append(url)
            await route.abort("blockedbyclient")

    def left_the_machine(self) -> list[str]:
        return list(self.refused)


@contextlib.asynccontextmanager
async def local_page(
    browser: Browser,
) -> AsyncIterator[tuple[Page, Network, BrowserContext]]:
    """A fresh context (its own storage) whose requests off this machine are refused."""
    context = await browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    network = Network()
    await context.route("**/*", network.route)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: _refusals(m.type, m.text, errors))
    try:
        yield page, network, context
    finally:
        await context.close()
    assert not errors, f"the page raised or broke its content security policy: {errors}"


def _refusals(kind: str, text: str, errors: list[str]) -> None:
    if kind == "error" and "Content Security Policy" in text:
        errors.append(text)
