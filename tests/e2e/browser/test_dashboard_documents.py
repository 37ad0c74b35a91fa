"""The page's GraphQL documents, as the browser loads them (``documents.js``), are what a
frontend team should send: one named operation each, its inputs as variables, views
built from fragments; valid against ``schema.graphql`` and within the server's limits."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    FragmentSpreadNode,
    OperationDefinitionNode,
    build_schema,
    parse,
    validate,
    visit,
)
from graphql.language import Visitor
from playwright.async_api import Browser

from analytics_graph.api.schema import build_schema as build_served_schema
from tests.e2e.browser.chromium import local_page
from tests.e2e.graphql_support import Served

SDL = Path(__file__).resolve().parents[3] / "schema.graphql"
VIEWS = {"OverviewView", "ContentView", "FollowersView", "VideoView"}
LIVE = {"OverviewLive", "ContentLive", "FollowersLive", "VideoLive"}


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.append(node.name.value)


async def test_the_pages_documents_are_named_valid_and_built_from_fragments(
    world: Served, browser: Browser
) -> None:
    async with local_page(browser) as (page, _, _context):
        await page.goto(world.base_url + "/")
        documents: dict[str, str] = await page.evaluate(
            "async () => Object.fromEntries(Object.entries("
            "await import('/static/app/documents.js')))"
        )
    assert set(documents) >= VIEWS | LIVE
    schema = build_schema(SDL.read_text())
    served = build_served_schema()
    for name, text in documents.items():
        document = parse(text)
        assert validate(schema, document) == [], name
        assert served.documents.prepare(text).errors == (), name
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        assert len(operations) == 1, name
        operation = operations[0]
        assert operation.name is not None and operation.name.value == name
        spreads = _Spreads()
        visit(document, spreads)
        if name in VIEWS | LIVE:
            assert spreads.names, f"{name} asks through fragments"
            assert operation.variable_definitions, f"{name} takes its inputs as variables"
    for view, live in zip(sorted(VIEWS), sorted(LIVE), strict=True):
        # a live update renders with the same fragment as the view's first answer
        assert view.removesuffix("View") == live.removesuffix("Live")
        assert _root_fragment(documents[view]) == _root_fragment(documents[live])


def _root_fragment(text: str) -> str:
    spreads = _Spreads()
    visit(parse(text), spreads)
    return spreads.names[0]
