"""Signing in, and what a token may see: a creator's page shows only their own account;
another creator's video answers like one that does not exist; a bad token is refused."""

from __future__ import annotations

from playwright.async_api import Browser

from analytics_graph.auth import Role
from analytics_graph.demo import dashboard_url
from tests.e2e.browser.chromium import local_page
from tests.e2e.browser.dashboard import READY, WITHIN_MS, by_testid, number, open_signed_in
from tests.e2e.graphql_support import Served, token

REGISTER = """mutation Register($handle: String!) {
  registerAccount(input: {handle: $handle, displayName: "Not Pro"}) { ... on Account { id } } }"""
TOTAL = """query T { me { id analytics(range: {preset: LAST_28_DAYS}) {
  overview { videoViews { total } } } } }"""


async def test_a_pasted_token_signs_in_and_a_bad_one_is_refused(
    world: Served, browser: Browser
) -> None:
    assert world.world is not None
    account = world.world.accounts[0]
    async with local_page(browser) as (page, network, _):
        await page.goto(world.base_url + "/")
        await page.wait_for_selector(by_testid("signin-form"))
        await page.fill(by_testid("signin-token"), "not-a-token")
        await page.click(by_testid("signin-submit"))
        error = page.locator(by_testid("signin-error"))
        await error.wait_for()
        assert "token" in (await error.inner_text()).lower()

        await page.fill(by_testid("signin-token"), token(Role.AUDITOR))
        await page.click(by_testid("signin-submit"))
        await page.wait_for_selector(by_testid("signin-error") + ":has-text('no account')")

        await page.fill(by_testid("signin-token"), token(Role.CREATOR, account.id))
        await page.click(by_testid("signin-submit"))
        await page.wait_for_selector(READY, timeout=WITHIN_MS)
        handle = await page.locator(by_testid("account-handle")).inner_text()
        assert handle == f"@{account.handle}"

        await page.click(by_testid("sign-out"))
        await page.wait_for_selector(by_testid("signin-form"))
        await page.reload()
        await page.wait_for_selector(by_testid("signin-form"))  # the token is gone
        assert network.left_the_machine() == []


async def test_another_creators_token_sees_nothing_of_this_one(
    world: Served, browser: Browser
) -> None:
    assert world.world is not None
    mine, theirs = world.world.accounts[0], world.world.accounts[1]
    their_video = next(v for v in world.world.videos if v.account_id == theirs.id)
    me = token(Role.CREATOR, mine.id)
    async with local_page(browser) as (page, _, _context):
        await open_signed_in(page, world.base_url, me, "overview?preset=LAST_28_DAYS")
        answer = await world.data(TOTAL, {}, token=me)
        shown = await number(page, "overview-videoViews-total")
        assert shown == answer["me"]["analytics"]["overview"]["videoViews"]["total"]
        assert await page.locator(by_testid("account-handle")).inner_text() == f"@{mine.handle}"

        await page.evaluate("(id) => { location.hash = `#/video/${id}`; }", str(their_video.id))
        await page.wait_for_selector('[data-testid="view"][data-state="not-found"]')
        html = await page.content()
        assert their_video.caption not in html
        assert theirs.handle not in html
        # the same answer as for an id that does not exist
        text = (await page.locator(by_testid("not-found")).inner_text()).replace(
            str(their_video.id), "ID"
        )
        await page.evaluate(
            "() => { location.hash = '#/video/00000000-0000-4000-8000-000000000000'; }"
        )
        await page.wait_for_function(
            "() => location.hash.includes('00000000-0000') && "
            "document.querySelector('[data-testid=view]').dataset.state === 'not-found'"
        )
        nowhere = await page.locator(by_testid("not-found")).inner_text()
        assert nowhere.replace("00000000-0000-4000-8000-000000000000", "ID") == text


async def test_a_personal_account_is_told_why_it_sees_no_analytics(
    world: Served, browser: Browser
) -> None:
    registered = await world.data(REGISTER, {"handle": "browser_personal"}, token=token(Role.ADMIN))
    personal = registered["registerAccount"]["id"]
    async with local_page(browser) as (page, _, _context):
        await page.goto(dashboard_url(world.base_url, token(Role.CREATOR, personal)))
        await page.wait_for_selector('[data-testid="view"][data-state="error"]')
        message = await page.locator(by_testid("error")).inner_text()
        assert "Pro accounts only" in message
        assert await page.locator(by_testid("account-handle")).inner_text() == "@browser_personal"
        assert await page.locator("figure.chart").count() == 0  # no numbers shown
