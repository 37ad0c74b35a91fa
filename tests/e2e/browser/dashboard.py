"""Reading the dashboard page as a test or another team would: by its ``data-testid``s
(``docs/dashboard.md``)."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

from analytics_graph.demo import dashboard_url
from tests.e2e.graphql_support import Served

READY = '[data-testid="view"][data-state="ready"]'
WITHIN_MS = 20_000


def by_testid(name: str) -> str:
    return f'[data-testid="{name}"]'


async def open_signed_in(page: Page, base_url: str, token: str, view: str = "") -> None:
    """Opens the link ``serve --demo`` prints, then ``view`` (e.g. ``followers``)."""
    await page.goto(dashboard_url(base_url, token))
    await page.wait_for_selector(READY, timeout=WITHIN_MS)
    if view:
        await show(page, view)


async def show(page: Page, view: str) -> None:
    """Goes to ``#/<view>`` and waits until the view has rendered its answer."""
    await page.evaluate("(hash) => { window.location.hash = hash; }", f"#/{view}")
    await page.wait_for_function(
        "(view) => { const v = document.querySelector('[data-testid=view]');"
        " return v.dataset.state === 'ready' && location.hash.startsWith('#/' + view); }",
        arg=view,
        timeout=WITHIN_MS,
    )


async def number(page: Page, name: str) -> int:
    """The integer a headline shows (as the reader sees it: digits with separators)."""
    text = await page.locator(by_testid(name)).inner_text()
    return int(text.replace(",", ""))


async def points(page: Page, chart: str) -> int:
    """How many points the chart drew of its series (``data-points``)."""
    value = await page.locator(by_testid(chart)).get_attribute("data-points")
    assert value is not None, chart
    return int(value)


async def shown_range(page: Page) -> tuple[str, str]:
    view = page.locator(by_testid("view"))
    start = await view.get_attribute("data-range-start")
    end = await view.get_attribute("data-range-end")
    assert start and end
    return start, end


async def row_ids(page: Page, row: str) -> list[str]:
    ids: list[str] = await page.eval_on_selector_all(
        by_testid(row), "rows => rows.map(r => r.dataset.videoId)"
    )
    return ids


async def graphql(world: Served, query: str, variables: dict[str, Any], token: str) -> Any:
    return await world.data(query, variables, token=token)
