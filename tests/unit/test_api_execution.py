"""Leaf objects completed at once answer exactly what graphql-core's own path answers."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from analytics_graph.api.execution import execution_for, leaf_objects
from analytics_graph.api.schema import build_schema


@strawberry.type
class Point:
    day: date
    value: int
    note: str | None = None


@strawberry.type
class Holder:
    points: list[Point]

    @strawberry.field
    def broken(self) -> list[Point]:
        return [Point(day=date(2025, 1, 1), value=None)]  # type: ignore[arg-type]


@strawberry.type
class Query:
    @strawberry.field
    def holder(self) -> Holder:
        return Holder(points=[Point(day=date(2025, 5, d), value=d) for d in range(1, 4)])


QUERIES = [
    "{ holder { points { day value note } } }",
    "{ holder { points { d: day v: value __typename } } }",
    "query Q($skip: Boolean!) { holder { points { day value @skip(if: $skip) } } }",
    "{ holder { points { ...F } } } fragment F on Point { value day }",
    "{ holder { broken { day value } } }",
]


def test_the_analytics_schema_has_leaf_objects_and_not_others() -> None:
    found = leaf_objects(build_schema()._schema)
    assert {"DailyValue", "Share", "HourValue", "DayValue", "RetentionPoint", "VideoDay"} <= set(
        found
    )
    assert not {"Account", "Video", "Metric", "VideoStats", "Query"} & set(found)


@pytest.mark.parametrize("query", QUERIES)
async def test_answers_are_those_of_graphql_core(query: str) -> None:
    schema = strawberry.Schema(query=Query)
    assert "Point" in leaf_objects(schema._schema)
    answers: list[Any] = []
    for fast in (False, True):
        schema.execution_context_class = (
            execution_for(schema._schema) if fast else StrawberryGraphQLCoreExecutionContext
        )
        result = await schema.execute(query, variable_values={"skip": True})
        answers.append((result.data, [e.formatted for e in result.errors or []]))
    assert answers[0] == answers[1]
