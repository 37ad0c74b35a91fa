"""The exported schema: the file on disk, and the shared contract it must contain."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
)

from analytics_graph.api.schema import export_sdl

ROOT = Path(__file__).resolve().parents[2]
# The project's own record of the contract: changed with the code, recorded in CHANGELOG.md.
CONTRACT_PATH = Path(__file__).with_name("test_api_contract.graphql")


def _contract() -> GraphQLSchema:
    return build_schema(CONTRACT_PATH.read_text())


def missing_from(ours: GraphQLSchema, contract: GraphQLSchema) -> list[str]:
    """What the contract has that ``ours`` lacks or spells differently."""
    problems: list[str] = []
    for name, wanted in contract.type_map.items():
        if name.startswith("__"):
            continue
        found = ours.type_map.get(name)
        if found is None:
            problems.append(f"type {name} is missing")
        elif type(found) is not type(wanted):
            problems.append(f"{name} is a {type(found).__name__}, not {type(wanted).__name__}")
        else:
            problems.extend(_compare(name, found, wanted))
    return problems


def _compare(name: str, found: GraphQLNamedType, wanted: GraphQLNamedType) -> list[str]:
    if isinstance(wanted, GraphQLEnumType):
        assert isinstance(found, GraphQLEnumType)
        return [f"{name}.{v} is missing" for v in wanted.values if v not in found.values]
    if isinstance(wanted, GraphQLUnionType):
        assert isinstance(found, GraphQLUnionType)
        members = {t.name for t in found.types}
        return [f"{name} lacks member {t.name}" for t in wanted.types if t.name not in members]
    if isinstance(wanted, GraphQLInputObjectType):
        assert isinstance(found, GraphQLInputObjectType)
        problems = [] if found.is_one_of == wanted.is_one_of else [f"{name}: @oneOf differs"]
        return problems + _fields(name, found.fields, wanted.fields)
    if isinstance(wanted, (GraphQLObjectType, GraphQLInterfaceType)):
        assert isinstance(found, (GraphQLObjectType, GraphQLInterfaceType))
        interfaces = {i.name for i in found.interfaces}
        problems = [
            f"{name} does not implement {i.name}"
            for i in wanted.interfaces
            if i.name not in interfaces
        ]
        return problems + _fields(name, found.fields, wanted.fields)
    assert isinstance(wanted, GraphQLScalarType)
    return []


def _fields(owner: str, found: dict[str, object], wanted: dict[str, object]) -> list[str]:
    problems = []
    for name, field in wanted.items():
        ours = found.get(name)
        where = f"{owner}.{name}"
        if ours is None:
            problems.append(f"{where} is missing")
            continue
        if str(ours.type) != str(field.type):  # type: ignore[attr-defined]
            problems.append(f"{where} is {ours.type}, not {field.type}")  # type: ignore[attr-defined]
        if hasattr(field, "args"):
            problems.extend(_fields(where, ours.args, field.args))  # type: ignore[attr-defined]
        elif getattr(field, "default_value", None) != getattr(ours, "default_value", None):
            problems.append(f"{where} defaults to {ours.default_value}")  # type: ignore[attr-defined]
    return problems


def test_schema_file_is_what_export_schema_prints() -> None:
    on_disk = (ROOT / "schema.graphql").read_text()
    assert on_disk == export_sdl(), "schema.graphql drifted: run `analytics-graph export-schema`"


def test_schema_contains_the_whole_contract() -> None:
    ours = build_schema((ROOT / "schema.graphql").read_text())
    assert missing_from(ours, _contract()) == []


def test_a_read_model_class_is_served_only_with_every_field_of_the_api_type() -> None:
    from dataclasses import dataclass

    import strawberry

    from analytics_graph.api.types.common import Served

    @strawberry.type
    class Pair:
        left: int
        right: int

    @dataclass
    class Half:
        left: int

    @dataclass
    class Whole:
        left: int
        right: int

    assert Served(Pair, Whole).many([Whole(1, 2)])[0].right == 2
    with pytest.raises(TypeError, match="has no 'right'"):
        Served(Pair, Half)
