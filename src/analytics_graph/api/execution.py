"""A faster way through the many small leaf objects of an analytics answer.

A dashboard holds hundreds of objects whose fields are all plain scalars read
off an attribute (``DailyValue { date value }``, ``Share``, ``HourValue`` ...).
graphql-core completes each of their fields separately (resolve info, resolver
call, completion, serialisation: several microseconds each). For object types
whose every field is a scalar or enum with Strawberry's default resolver (no
arguments, resolver, permissions or extensions), :class:`LeafObjectsExecution`
completes the whole object at once: the selected fields (aliases, ``@skip`` /
``@include`` and ``__typename`` honoured, as graphql-core collects them) read
and serialised in one loop. Anything unusual (a null where the schema says
non-null, a value that fails to serialise) falls back to graphql-core's own
path, so errors keep their exact shape and path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

Leaf = tuple[str, Callable[[Any], Any], bool]  # python name, serialise, non-null
DEFINITION = "strawberry-definition"


def _leaf(field: Any) -> Leaf | None:
    definition = (field.extensions or {}).get(DEFINITION)
    if field.args or definition is None or definition.base_resolver is not None:
        return None
    if definition.extensions or definition.permission_classes or definition.directives:
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    inner = field.type.of_type if non_null else field.type
    if not isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
        return None
    return definition.python_name, inner.serialize, non_null


def leaf_objects(schema: GraphQLSchema) -> dict[str, dict[str, Leaf]]:
    """The object types whose fields are all plain leaves, with how to read each."""
    found: dict[str, dict[str, Leaf]] = {}
    for name, kind in schema.type_map.items():
        if name.startswith("__") or not isinstance(kind, GraphQLObjectType) or kind.is_type_of:
            continue
        leaves = {field_name: _leaf(field) for field_name, field in kind.fields.items()}
        if all(leaf is not None for leaf in leaves.values()):
            found[name] = {k: v for k, v in leaves.items() if v is not None}
    return found


def execution_for(schema: GraphQLSchema) -> type[StrawberryGraphQLCoreExecutionContext]:
    """The execution context class for ``schema`` (its leaf-object types found once)."""
    leaves = leaf_objects(schema)

    class LeafObjectsExecution(StrawberryGraphQLCoreExecutionContext):
        def complete_object_value(
            self,
            return_type: GraphQLObjectType,
            field_details_list: Any,
            info: GraphQLResolveInfo[Any],
            path: Path,
            result: Any,
            position_context: Any,
        ) -> Any:
            spec = leaves.get(return_type.name)
            if spec is not None:
                done = self._complete_leaves(return_type, spec, field_details_list, result)
                if done is not None:
                    return done
            return super().complete_object_value(
                return_type, field_details_list, info, path, result, position_context
            )

        def _complete_leaves(
            self, kind: GraphQLObjectType, spec: dict[str, Leaf], details: Any, source: Any
        ) -> dict[str, Any] | None:
            grouped, deferred, _ = self.collect_subfields(kind, details)
            if deferred:
                return None
            out: dict[str, Any] = {}
            try:
                for key, nodes in grouped.items():
                    name = nodes[0].node.name.value
                    if name == "__typename":
                        out[key] = kind.name
                        continue
                    python_name, serialize, non_null = spec[name]
                    value = getattr(source, python_name)
                    if value is None and non_null:
                        return None  # graphql-core reports it, at the right path
                    out[key] = None if value is None else serialize(value)
            except Exception:  # idem: let graphql-core locate and report it
                return None
            return out

    return LeafObjectsExecution
