"""Screenshots of the dashboard's main views and of GraphiQL, for ``docs/screenshots/``.

Run by ``scripts/screenshots``: the demo data set (the one ``serve --demo`` loads) in a
scratch database of the server at ``ANALYTICS_GRAPH_TEST_DATABASE_URL``, the real app
under uvicorn, and the tests' chromium (``chromium.py``)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from playwright.async_api import Page

from analytics_graph.auth import Role
from analytics_graph.demo import DASHBOARD, demo_config
from analytics_graph.simulation import SimAccount, World
from tests.conftest import TEST_URL_VARIABLE
from tests.e2e.browser.chromium import chromium, local_page
from tests.e2e.browser.dashboard import by_testid, open_signed_in, show
from tests.e2e.graphql_support import serve, token

VIEWS = [
    ("overview", "overview?preset=LAST_28_DAYS"),
    ("content", "content?preset=LAST_28_DAYS"),
    ("followers", "followers?preset=LAST_28_DAYS"),
]


async def _shoot(page: Page, path: Path) -> None:
    await page.wait_for_timeout(300)  # the charts' last frame
    await page.screenshot(path=path, full_page=True)
    print(path)


def _busiest_creator(world: World) -> SimAccount:
    """The Pro creator with the most videos (whom ``serve --demo`` signs in)."""
    pro = [a for a in world.accounts if a.is_pro]
    return max(pro, key=lambda a: sum(v.account_id == a.id for v in world.videos))


async def main(folder: Path) -> None:
    database = os.environ.get(TEST_URL_VARIABLE)
    if not database:
        raise SystemExit(f"set {TEST_URL_VARIABLE} (a server where databases may be made)")
    with tempfile.TemporaryDirectory() as data_dir:
        async with serve(database, Path(data_dir), demo_config()) as world, chromium() as browser:
            assert world.world is not None
            account = _busiest_creator(world.world)
            creator = token(Role.CREATOR, account.id)
            async with local_page(browser) as (page, network, _):
                await open_signed_in(page, world.base_url, creator)
                for name, view in VIEWS:
                    await show(page, view)
                    await _shoot(page, folder / f"{name}.png")
                await show(page, "content?preset=LAST_28_DAYS")
                await page.locator(by_testid("content-trending-row")).first.locator("a").click()
                await page.wait_for_selector(
                    '[data-testid="view"][data-view="video"][data-state="ready"]'
                )
                await _shoot(page, folder / "video.png")
                headers = json.dumps({"Authorization": f"Bearer {creator}"})
                await page.goto(
                    f"{world.base_url}/graphql?headers={quote(headers)}&q={quote(DASHBOARD)}"
                )
                await page.wait_for_selector(".graphiql-editor")
                await page.click(".graphiql-execute-button")
                await page.wait_for_selector(f".result-window:has-text('{account.handle}')")
                await _shoot(page, folder / "graphiql.png")
                assert network.left_the_machine() == []


def run() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(folder))


if __name__ == "__main__":
    run()
