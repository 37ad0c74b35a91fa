"""Plain fields completed in one pass answer exactly what graphql-core's own path
answers (data, errors, paths, order), and the pass is really taken."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import date
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from analytics_graph.api.engine.execution import Completion, execution_for


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Point:
    day: date
    value: int
    note: str | None = None
    ratio: float = 0.5
    colour: Colour = Colour.RED
    tags: list[str] = dataclasses.field(default_factory=lambda: ["a", "b"])
    maybe: list[int | None] = dataclasses.field(default_factory=lambda: [1, None])
    grid: list[list[int]] = dataclasses.field(default_factory=lambda: [[1, 2], [3]])
    flag: bool = True


@strawberry.type
class Series:
    name: str
    points: list[Point]
    best: Point | None

    @strawberry.field
    def top(self, first: int = 1) -> list[Point]:
        return self.points[:first]

    @strawberry.field
    async def later(self) -> int:
        return len(self.points)


@strawberry.type
class Holder:
    points: list[Point]
    series: list[Series]
    huge: int = 2**40
    nan: float = float("nan")
    text: str = "t"

    @strawberry.field
    def broken(self) -> list[Point]:
        return [Point(day=date(2025, 1, 1), value=None)]  # type: ignore[arg-type]


@strawberry.type
class Query:
    @strawberry.field
    def holder(self) -> Holder:
        points = [Point(day=date(2025, 5, d), value=d) for d in range(1, 4)]
        points[1].note = "second"
        series = [
            Series(name="a", points=points, best=points[0]),
            Series(name="b", points=[], best=None),
        ]
        return Holder(points=points, series=series)

    @strawberry.field
    def holder_with_bad_lists(self) -> Holder:
        bad = Point(day=date(2025, 1, 1), value=1, tags=["x", None], grid=[[1], None])  # type: ignore[list-item]
        return Holder(
            points=[bad, Point(day=date(2025, 1, 2), value=2, colour=Colour.BLUE)], series=[]
        )

    @strawberry.field
    def holder_with_bad_point(self) -> Holder:
        bad = Point(day=date(2025, 1, 1), value="x")  # type: ignore[arg-type]
        return Holder(points=[bad], series=[Series(name="c", points=[bad], best=bad)])


QUERIES = [
    "{ holder { points { day value note ratio } } }",
    "{ holder { points { d: day v: value __typename } } }",
    "query Q($skip: Boolean!) { holder { points { day value @skip(if: $skip) } } }",
    "query Q($skip: Boolean!) { holder { points { day @include(if: $skip) value } } }",
    "{ holder { points { ...F } } } fragment F on Point { value day }",
    "{ holder { broken { day value } } }",
    "{ holder { series { name points { value } best { day } } } }",
    "{ holder { series { __typename n: name best { v: value } } } }",
    # plain fields beside resolvers, arguments and async ones, in the query's order
    "{ holder { series { top(first: 2) { value } name later best { note } } } }",
    "{ holder { text series { later points { value } } points { value } } }",
    # values that fail to serialise, or are of the wrong type: graphql-core's errors
    "{ holder { huge text } }",
    "{ holder { nan text } }",
    "{ holderWithBadPoint { points { value day } series { name best { value } } } }",
    # enums, lists of scalars (nullable items or not), lists of lists, booleans
    "{ holder { points { colour tags maybe grid flag } } }",
    "{ holderWithBadLists { points { value colour } } }",
    "{ holderWithBadLists { points { value tags } } }",
    "{ holderWithBadLists { points { value grid } } }",
    "{ holderWithBadLists { points { maybe colour } } }",
]


async def _answer(schema: strawberry.Schema, query: str) -> str:
    result = await schema.execute(query, variable_values={"skip": True})
    errors = [e.formatted for e in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors})  # order included


@pytest.mark.parametrize("completion", ["plans", "stock"])
@pytest.mark.parametrize("query", QUERIES)
async def test_answers_are_those_of_graphql_core(query: str, completion: Completion) -> None:
    schema = strawberry.Schema(query=Query)
    answers: list[Any] = []
    for execution in (
        StrawberryGraphQLCoreExecutionContext,
        execution_for(schema._schema, completion),
    ):
        schema.execution_context_class = execution
        answers.append(await _answer(schema, query))
    assert answers[0] == answers[1]


async def test_answers_stay_right_when_the_function_cache_evicts() -> None:
    """With room for two completion functions and two kept plans, every answer evicts
    others (and frees them): functions are kept by structure and plans by nodes their
    entries keep alive, so an id reused after an eviction never hands out the wrong
    completion; and no cache grows past its bound."""
    schema = strawberry.Schema(query=Query)
    fast = execution_for(schema._schema)
    fast.completions.maxsize = 2  # type: ignore[attr-defined]
    fast.shared_plans.maxsize = 2  # type: ignore[attr-defined]
    fast.conditional.maxsize = 1  # type: ignore[attr-defined]
    expected = []
    schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    for query in QUERIES:
        expected.append(await _answer(schema, query))
    schema.execution_context_class = fast
    for _ in range(3):
        for query, answer in zip(QUERIES, expected, strict=True):
            assert await _answer(schema, query) == answer
    assert len(fast.completions) <= 2  # type: ignore[attr-defined]
    assert len(fast.shared_plans) <= 2  # type: ignore[attr-defined]
    assert len(fast.conditional) <= 1  # type: ignore[attr-defined]


async def test_plain_fields_skip_graphql_cores_field_path() -> None:
    """graphql-core's ``execute_field`` runs for the resolver fields only."""
    schema = strawberry.Schema(query=Query)
    fast = execution_for(schema._schema)
    fields: list[str] = []

    class Counting(fast):  # type: ignore[misc, valid-type]
        def execute_field(self, parent_type: Any, source: Any, details: Any, *args: Any) -> Any:
            fields.append(f"{parent_type.name}.{details[0].node.name.value}")
            return super().execute_field(parent_type, source, details, *args)

    schema.execution_context_class = Counting
    result = await schema.execute("{ holder { points { day value } series { name later } } }")
    assert result.errors is None
    assert result.data is not None and len(result.data["holder"]["points"]) == 3
    # `series` holds a resolver field: graphql-core completes the list, its `name`s not
    assert sorted(fields) == ["Holder.series", "Query.holder", "Series.later", "Series.later"]


CONDITIONAL = [
    "query Q($skip: Boolean!) { holder { series { name best { value @skip(if: $skip)"
    " day } } points @include(if: $skip) { value note } } }",
    "query Q($skip: Boolean!) { holder { series { name best { ...B } } } }"
    " fragment B on Point { value @skip(if: $skip) day }",
]


@pytest.mark.parametrize("query", CONDITIONAL)
async def test_plans_kept_across_executions_follow_each_executions_variables(
    query: str,
) -> None:
    """One parsed document run again and again (the parser cache hands out the same
    nodes, as our document cache does), with conditions that select other fields
    each time: each answer is graphql-core's."""
    parser_cache = ParserCache()
    schema = strawberry.Schema(query=Query, extensions=[lambda: parser_cache])
    fast = execution_for(schema._schema)
    for skip in (True, False, True, False):
        answers = []
        for execution in (StrawberryGraphQLCoreExecutionContext, fast):
            schema.execution_context_class = execution
            result = await schema.execute(query, variable_values={"skip": skip})
            answers.append(json.dumps({"data": result.data, "errors": result.errors}))
        assert answers[0] == answers[1]
        assert ('"best": {"value": 1' in answers[0]) is not skip  # the condition counted
