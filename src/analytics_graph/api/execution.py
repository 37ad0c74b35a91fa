"""A faster way through the plain data of an analytics answer.

A dashboard holds hundreds of objects that are plain data: every field read off
an attribute with Strawberry's default resolver, no arguments, permissions or
extensions, of a scalar or enum type, or of another such type, or a list of
them (``Overview`` -> ``Metric`` -> ``[DailyValue]``, ``Share``, ``HourValue``
...). graphql-core completes each of their fields separately (resolve info,
resolver call, completion, serialisation: several microseconds each). For these
*plain* types, :func:`execution_for`'s execution context completes the whole
subtree in one recursive pass over the selection (aliases, ``@skip`` /
``@include`` and ``__typename`` honoured, as graphql-core collects them).
Anything unusual (a null where the schema says non-null, a value that fails to
serialise, deferred fragments) falls back to graphql-core's own path for the
whole subtree, so errors keep their exact shape and path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

DEFINITION = "strawberry-definition"


class Unusual(Exception):
    """Raised inside the fast pass: let graphql-core complete this subtree."""


@dataclass(frozen=True, slots=True)
class Shape:
    """How to complete a value of one output type."""

    non_null: bool
    serialize: Callable[[Any], Any] | None = None  # leaves
    object_type: GraphQLObjectType | None = None  # plain objects
    item: Shape | None = None  # lists


@dataclass(frozen=True, slots=True)
class PlainField:
    python_name: str
    shape: Shape


def _shape(kind: GraphQLOutputType, plain: set[str]) -> Shape | None:
    non_null = isinstance(kind, GraphQLNonNull)
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
        return Shape(non_null, serialize=inner.serialize)
    if isinstance(inner, GraphQLObjectType) and inner.name in plain:
        return Shape(non_null, object_type=inner)
    if isinstance(inner, GraphQLList):
        item = _shape(inner.of_type, plain)
        return None if item is None else Shape(non_null, item=item)
    return None


def _default_resolved(field: Any) -> str | None:
    """The attribute a field reads, if Strawberry's default resolver is all it runs."""
    definition = (field.extensions or {}).get(DEFINITION)
    if field.args or definition is None or definition.base_resolver is not None:
        return None
    if definition.extensions or definition.permission_classes or definition.directives:
        return None
    return str(definition.python_name)


def plain_types(schema: GraphQLSchema) -> dict[str, dict[str, PlainField]]:
    """The plain object types of ``schema`` and how to complete each of their fields."""
    candidates = {
        name: kind
        for name, kind in schema.type_map.items()
        if isinstance(kind, GraphQLObjectType)
        and not name.startswith("__")
        and not kind.is_type_of
        and all(_default_resolved(f) for f in kind.fields.values())
    }
    plain = set(candidates)
    while True:  # drop types with a field of a type that is not plain, until none is left
        kept = {
            name
            for name in plain
            if all(_shape(f.type, plain) for f in candidates[name].fields.values())
        }
        if kept == plain:
            break
        plain = kept
    return {
        name: {
            field_name: PlainField(str(_default_resolved(f)), _shape(f.type, plain))  # type: ignore[arg-type]
            for field_name, f in candidates[name].fields.items()
        }
        for name in plain
    }


def execution_for(schema: GraphQLSchema) -> type[StrawberryGraphQLCoreExecutionContext]:
    """The execution context class for ``schema`` (its plain types found once)."""
    plain = plain_types(schema)

    class PlainDataExecution(StrawberryGraphQLCoreExecutionContext):
        def complete_object_value(
            self,
            return_type: GraphQLObjectType,
            field_details_list: Any,
            info: GraphQLResolveInfo[Any],
            path: Path,
            result: Any,
            position_context: Any,
        ) -> Any:
            if return_type.name in plain:
                try:
                    return self._plain_object(return_type, field_details_list, result)
                except Exception:  # Unusual, or data of an unexpected shape
                    pass  # graphql-core completes it again, reporting what is wrong
            return super().complete_object_value(
                return_type, field_details_list, info, path, result, position_context
            )

        def _plain_object(self, kind: GraphQLObjectType, details: Any, source: Any) -> Any:
            grouped, deferred, _ = self.collect_subfields(kind, details)
            if deferred:
                raise Unusual
            fields = plain[kind.name]
            out: dict[str, Any] = {}
            for key, nodes in grouped.items():
                name = nodes[0].node.name.value
                if name == "__typename":
                    out[key] = kind.name
                    continue
                field = fields[name]
                out[key] = self._plain_value(field.shape, nodes, getattr(source, field.python_name))
            return out

        def _plain_value(self, shape: Shape, nodes: Any, value: Any) -> Any:
            if value is None:
                if shape.non_null:
                    raise Unusual  # graphql-core reports it, at the right path
                return None
            if shape.serialize is not None:
                try:
                    return shape.serialize(value)
                except Exception as error:  # idem
                    raise Unusual from error
            if shape.object_type is not None:
                return self._plain_object(shape.object_type, nodes, value)
            item = shape.item
            assert item is not None
            return [self._plain_value(item, nodes, v) for v in value]

    return PlainDataExecution
