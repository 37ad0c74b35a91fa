"""Leaf objects completed at once answer exactly what graphql-core's own path answers."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from analytics_graph.api.execution import execution_for, plain_types
from analytics_graph.api.schema import build_schema


@strawberry.type
class Point:
    day: date
    value: int
    note: str | None = None


@strawberry.type
class Series:
    name: str
    points: list[Point]
    best: Point | None


@strawberry.type
class Holder:
    points: list[Point]
    series: list[Series]

    @strawberry.field
    def broken(self) -> list[Point]:
        return [Point(day=date(2025, 1, 1), value=None)]  # type: ignore[arg-type]


@strawberry.type
class Query:
    @strawberry.field
    def holder(self) -> Holder:
        points = [Point(day=date(2025, 5, d), value=d) for d in range(1, 4)]
        series = [
            Series(name="a", points=points, best=points[0]),
            Series(name="b", points=[], best=None),
        ]
        return Holder(points=points, series=series)


QUERIES = [
    "{ holder { points { day value note } } }",
    "{ holder { points { d: day v: value __typename } } }",
    "query Q($skip: Boolean!) { holder { points { day value @skip(if: $skip) } } }",
    "{ holder { points { ...F } } } fragment F on Point { value day }",
    "{ holder { broken { day value } } }",
    "{ holder { series { name points { value } best { day } } } }",
    "{ holder { series { __typename n: name best { v: value } } } }",
]


def test_plain_types_are_found_and_others_not() -> None:
    found = set(plain_types(build_schema()._schema))
    assert {"Overview", "Metric", "DailyValue", "Share", "HourValue", "RetentionPoint"} <= found
    assert not {"Account", "Video", "VideoStats", "FollowerAnalytics", "Query"} & found


@pytest.mark.parametrize("query", QUERIES)
async def test_answers_are_those_of_graphql_core(query: str) -> None:
    schema = strawberry.Schema(query=Query)
    assert {"Point", "Series"} <= set(plain_types(schema._schema))
    assert "Holder" not in plain_types(schema._schema)
    answers: list[Any] = []
    for fast in (False, True):
        schema.execution_context_class = (
            execution_for(schema._schema) if fast else StrawberryGraphQLCoreExecutionContext
        )
        result = await schema.execute(query, variable_values={"skip": True})
        answers.append((result.data, [e.formatted for e in result.errors or []]))
    assert answers[0] == answers[1]
