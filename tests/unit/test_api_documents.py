"""Parsed and validated documents are cached, and the limits name the problem."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import validate as real_validate

from analytics_graph.api.engine import documents
from analytics_graph.api.engine.limits import Limits
from analytics_graph.api.schema import build_schema
from analytics_graph.config import Mode


async def test_the_validation_cache_hits_across_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[Any] = []

    def counting(*args: Any) -> Any:
        validated.append(args)
        return real_validate(*args)

    monkeypatch.setattr(documents, "validate", counting)
    schema = build_schema()
    for _ in range(3):
        result = await schema.execute("query Q { __typename }")
        assert result.errors is None
        assert result.data == {"__typename": "Query"}
    assert len(validated) == 1
    assert (schema.documents.misses, schema.documents.hits) >= (1, 2)


def test_the_rules_are_built_once() -> None:
    schema = build_schema()
    rules = schema.documents.rules
    schema.documents.prepare("{ __typename }")
    schema.documents.prepare("{ me { id } }")
    assert schema.documents.rules is rules


def test_a_repeated_text_reuses_the_prepared_document() -> None:
    cache = build_schema().documents
    first = cache.prepare("{ me { id } }")
    assert cache.prepare("{ me { id } }") is first
    assert cache.hits == 1


def test_the_cache_is_bounded() -> None:
    schema = build_schema()
    cache = documents.DocumentCache(
        schema._schema, Limits(), introspection=True, suggestions=True, maxsize=2
    )
    for name in ("a", "b", "c"):
        cache.prepare(f"query {name} {{ __typename }}")
    cache.prepare("query a { __typename }")
    assert cache.misses == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "fragment F on Account { videos { edges { node { account { id } } } } }"
            " { me { ...F videos { edges { node { account { ...F } } } } } }",
            [],  # 10 levels once F is spread inside the inner account
        ),
        (
            "query Deep { me { videos { edges { node { account { videos { edges { node {"
            " account { videos { edges { node { account { id } } } } } } } } } } } } } }",
            ["operation 'Deep' is 14 fields deep; at most 12 are allowed"],
        ),
        (
            "fragment F on Account { videos { edges { node { account { id } } } } }"
            " { me { videos { edges { node { account { videos { edges { node { account"
            " { ...F } } } } } } } } } }",
            ["the operation is 14 fields deep; at most 12 are allowed"],
        ),
    ],
)
def test_depth_counts_fragments_where_they_are_spread(query: str, expected: list[str]) -> None:
    cache = build_schema(limits=Limits(max_depth=12)).documents
    assert [e.message for e in cache.prepare(query).errors] == expected


def test_aliases_and_fields_are_counted() -> None:
    cache = build_schema(limits=Limits(max_aliases=2, max_fields=5)).documents
    query = "{ a: me { id } b: me { id } c: me { id } }"
    assert [e.message for e in cache.prepare(query).errors] == [
        "the operation selects 6 fields; at most 5 are allowed",
        "the operation uses 3 aliases; at most 2 are allowed",
    ]


def test_fragment_cycles_do_not_hang_the_measure() -> None:
    cache = build_schema().documents
    query = "fragment A on Account { ...B } fragment B on Account { ...A } { me { ...A } }"
    messages = [e.message for e in cache.prepare(query).errors]
    assert any("Cannot spread fragment" in m for m in messages)


def test_production_refuses_introspection_and_drops_suggestions() -> None:
    cache = build_schema(Mode.PRODUCTION).documents
    introspection = cache.prepare("{ __schema { queryType { name } } }").errors
    assert "introspection has been disabled" in introspection[0].message
    [typo] = cache.prepare("{ mee { id } }").errors
    assert typo.message == "Cannot query field 'mee' on type 'Query'."
    assert typo.extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}
