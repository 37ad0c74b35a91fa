"""The GraphQL documents a replay asks: every scalar field of an account's or a
video's analytics, built from the schema itself so a field added later is
compared too.

Objects are expanded field by field; a field that leads back to an ``Account``
or a ``Video`` selects only its ``id`` (so the document is finite), and a field
with a required argument other than ``range`` is left out.
"""

from __future__ import annotations

from functools import cache

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    get_named_type,
)

ENTITIES = frozenset({"Account", "Video"})
MAX_DEPTH = 6


@cache
def _schema() -> GraphQLSchema:
    from analytics_graph.api.schema import export_sdl  # the API's own schema, as served

    return build_schema(export_sdl())


def _required_args(field: GraphQLField) -> set[str]:
    return {
        name
        for name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is None
    }


def _selection(type_: GraphQLNamedType, depth: int) -> str:
    assert isinstance(type_, GraphQLObjectType)
    parts = []
    for name, field in type_.fields.items():
        if _required_args(field):
            continue
        target = get_named_type(field.type)
        if isinstance(target, GraphQLScalarType | GraphQLEnumType):
            parts.append(name)
        elif isinstance(target, GraphQLObjectType) and target.name in ENTITIES:
            parts.append(f"{name} {{ id }}")
        elif isinstance(target, GraphQLObjectType) and depth < MAX_DEPTH:
            parts.append(f"{name} {{ {_selection(target, depth + 1)} }}")
    return " ".join(parts)


def analytics_selection(type_name: str) -> str:
    """Every scalar below ``type_name`` (``AccountAnalytics`` or ``VideoAnalytics``)."""
    return _selection(_schema().type_map[type_name], 0)


ACCOUNT_QUERY = (
    "query Replay($id: ID!, $range: DateRangeInput!) { account(id: $id) { "
    "analytics(range: $range) { " + "{account}" + " } } }"
)
VIDEO_QUERY = (
    "query Replay($id: ID!, $range: DateRangeInput) { video(id: $id) { "
    "analytics(range: $range) { " + "{video}" + " } } }"
)


def account_query() -> str:
    """``{ account(id: $id) { analytics(range: $range) { ...every scalar } } }``."""
    return ACCOUNT_QUERY.replace("{account}", analytics_selection("AccountAnalytics"))


def video_query() -> str:
    """``{ video(id: $id) { analytics(range: $range) { ...every scalar } } }``."""
    return VIDEO_QUERY.replace("{video}", analytics_selection("VideoAnalytics"))
