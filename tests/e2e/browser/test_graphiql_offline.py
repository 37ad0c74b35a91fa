"""GraphiQL loads and runs a query with every asset from the server itself: each
request to another host is refused, and none is made."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

from playwright.async_api import Browser

from analytics_graph.auth import Role
from tests.e2e.browser.chromium import local_page
from tests.e2e.graphql_support import Served, token


async def test_graphiql_works_offline(world: Served, browser: Browser) -> None:
    assert world.world is not None
    account = world.world.accounts[0]
    headers = json.dumps({"Authorization": f"Bearer {token(Role.CREATOR, account.id)}"})
    query = "query Me { me { handle } }"
    url = f"{world.base_url}/graphql?headers={quote(headers)}&q={quote(query)}"
    async with local_page(browser) as (page, network, _):
        sockets: list[str] = []
        page.on("websocket", lambda socket: sockets.append(socket.url))
        await page.goto(url)
        await page.wait_for_selector(".graphiql-editor", timeout=20_000)
        await page.click(".graphiql-execute-button")
        await page.wait_for_selector(f".result-window:has-text('{account.handle}')", timeout=20_000)

        assert network.left_the_machine() == []
        hosts = {urlsplit(u).hostname for u in network.requested + sockets}
        assert hosts == {"127.0.0.1"}
        assert any("/static/vendor/graphiql/graphiql.min.js" in u for u in network.requested)
        assert any("/static/vendor/react/react.production.min.js" in u for u in network.requested)
