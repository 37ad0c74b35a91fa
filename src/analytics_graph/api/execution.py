"""A faster way through the plain data of an answer.

An analytics answer holds hundreds of fields that are plain data: read off an
attribute with Strawberry's default resolver (no resolver of our own, no
arguments, permissions or extensions), of a scalar or enum type, or of an object
type whose selected fields are all such fields, or a list of these
(``Overview`` -> ``Metric`` -> ``[DailyValue]``, ``VideoStats`` -> ``Video { id
caption }``, ``Share`` ...). graphql-core completes each of them separately
(resolve info, resolver call, completion, serialisation: several microseconds a
field).

:func:`execution_for`'s execution context compiles, once per selection of an
execution, a plan of the selection's fields: for each plain field, the attribute
to read and how to complete its value in one recursive pass; every other field
(a resolver, arguments, an abstract type, a selection with a non-plain field
inside) goes through graphql-core's own path, beside them, as usual. Aliases,
``@skip`` / ``@include`` and ``__typename`` are honoured, as graphql-core collects
them, and the answer keeps the selection's order.

The fast pass never reports anything itself: a null where the schema says
non-null, a value that fails to serialise, data of an unexpected shape, makes
that one field go through graphql-core's path instead, which reports the error
with its exact message, path and propagation. Deferred fragments use
graphql-core's path throughout.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
)
from graphql.execution.collect_fields import FragmentDetails
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

DEFINITION = "strawberry-definition"
TYPENAME = "__typename"
MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
MAX_SHARED_PLANS = 10_000
CONDITIONS = frozenset(("skip", "include"))

Serialize: TypeAlias = Callable[[Any], Any]


class Unusual(Exception):
    """Raised inside the fast pass: let graphql-core complete this field."""


def _fast_int(value: Any) -> Any:
    if type(value) is int and MIN_INT <= value <= MAX_INT:
        return value
    return GraphQLInt.serialize(value)


def _fast_float(value: Any) -> Any:
    if type(value) is float and math.isfinite(value):
        return value
    return GraphQLFloat.serialize(value)


def _fast_str(serialize: Serialize) -> Serialize:
    def fast(value: Any) -> Any:
        return value if type(value) is str else serialize(value)

    return fast


def _fast_bool(value: Any) -> Any:
    return value if type(value) is bool else GraphQLBoolean.serialize(value)


def serializer(kind: GraphQLScalarType | GraphQLEnumType) -> Serialize:
    """``kind.serialize``, short-cut for the values of the built-in scalars that need
    no conversion (the same answers: the fallback is graphql-core's own)."""
    if kind is GraphQLInt:
        return _fast_int
    if kind is GraphQLFloat:
        return _fast_float
    if kind is GraphQLBoolean:
        return _fast_bool
    if kind is GraphQLString or kind is GraphQLID:
        return _fast_str(kind.serialize)
    return kind.serialize


@dataclass(frozen=True, slots=True)
class Leaf:
    non_null: bool
    serialize: Serialize


@dataclass(frozen=True, slots=True)
class Nested:
    """A plain object: every selected field of it is plain."""

    non_null: bool
    plan: Plan


@dataclass(frozen=True, slots=True)
class ListOf:
    non_null: bool
    item: Shape


Shape: TypeAlias = Leaf | Nested | ListOf


@dataclass(frozen=True, slots=True)
class Step:
    """One response key of a selection: ``attribute`` read and completed as ``shape``,
    ``__typename`` when both are ``None``, else (``shape`` None) graphql-core's path."""

    key: str
    attribute: str | None
    shape: Shape | None
    typename: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    type_name: str
    steps: tuple[Step, ...]
    all_plain: bool
    any_plain: bool

    @classmethod
    def of(cls, type_name: str, steps: list[Step]) -> Plan:
        plain = [s.typename or s.shape is not None for s in steps]
        return cls(type_name, tuple(steps), all(plain), any(plain))


_conditional: dict[int, tuple[OperationDefinitionNode, bool]] = {}


def uses_conditions(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]
) -> bool:
    """Whether ``@skip`` / ``@include`` appear in the operation or its fragments
    (remembered per operation node)."""
    found = _conditional.get(id(operation))
    if found is not None and found[0] is operation:
        return found[1]
    nodes: list[Any] = [operation, *(f.definition for f in fragments.values())]
    uses = False
    while nodes and not uses:
        node = nodes.pop()
        uses = any(d.name.value in CONDITIONS for d in getattr(node, "directives", None) or ())
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            nodes.extend(selection_set.selections)
    if len(_conditional) >= MAX_SHARED_PLANS:
        _conditional.clear()
    _conditional[id(operation)] = (operation, uses)
    return uses


def default_attribute(field: GraphQLField) -> str | None:
    """The attribute a field reads, if Strawberry's default resolver is all it runs."""
    definition = (field.extensions or {}).get(DEFINITION)
    if field.args or definition is None or definition.base_resolver is not None:
        return None
    if definition.extensions or definition.permission_classes or definition.directives:
        return None
    return str(definition.python_name)


def execution_for(schema: GraphQLSchema) -> type[StrawberryGraphQLCoreExecutionContext]:
    """The execution context class for ``schema`` (what each field reads found once)."""
    attributes: dict[tuple[str, str], str | None] = {}
    serializers: dict[str, Serialize] = {}
    for name, kind in schema.type_map.items():
        if isinstance(kind, GraphQLObjectType) and not name.startswith("__"):
            for field_name, field in kind.fields.items():
                attributes[(name, field_name)] = default_attribute(field)
        elif isinstance(kind, (GraphQLScalarType, GraphQLEnumType)):
            serializers[name] = serializer(kind)

    shared: dict[tuple[object, ...], tuple[object, object, Plan]] = {}

    class PlainDataExecution(StrawberryGraphQLCoreExecutionContext):
        _plans: dict[tuple[str, int], tuple[object, Plan]]

        def execute_fields(
            self,
            parent_type: GraphQLObjectType,
            source_value: Any,
            path: Path | None,
            grouped_field_set: Any,
            position_context: Any,
        ) -> Any:
            if position_context is not None:  # deferred delivery: graphql-core's path
                return super().execute_fields(
                    parent_type, source_value, path, grouped_field_set, position_context
                )
            plan = self._plan(parent_type, grouped_field_set)
            if not plan.any_plain:
                return super().execute_fields(
                    parent_type, source_value, path, grouped_field_set, None
                )
            out: dict[str, Any] = {}
            slow: dict[str, Any] | None = None
            for step in plan.steps:
                if step.typename:
                    out[step.key] = parent_type.name
                    continue
                if step.shape is not None:
                    try:
                        out[step.key] = self._complete(
                            step.shape,
                            getattr(source_value, step.attribute),  # type: ignore[arg-type]
                        )
                        continue
                    except Exception:  # Unusual, or data of an unexpected shape
                        pass  # graphql-core completes it, reporting what is wrong
                if slow is None:
                    slow = {}
                slow[step.key] = grouped_field_set[step.key]
                out[step.key] = None  # keeps the selection's order
            if slow is None:
                return out
            rest = super().execute_fields(parent_type, source_value, path, slow, None)
            if self.is_awaitable(rest):
                return _merged_later(out, slow, rest)
            return _merged(out, slow, rest)  # type: ignore[arg-type]

        def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
            """The plan of a selection: memoised for the execution by the selection's
            identity (kept alive beside it, as graphql-core memoises collected fields),
            and across executions of the same parsed document by the selection's nodes
            (when no ``@skip`` / ``@include`` can make the same nodes mean another
            selection)."""
            try:
                plans = self._plans
            except AttributeError:
                plans = self._plans = {}
            key = (parent_type.name, id(grouped_field_set))
            found = plans.get(key)
            if found is not None:
                return found[1]
            shared_key = None
            if not uses_conditions(self.operation, self.fragments):
                shared_key = (
                    id(self.operation),
                    parent_type.name,
                    tuple((k, id(d[0].node), len(d)) for k, d in grouped_field_set.items()),
                )
                entry = shared.get(shared_key)
                if entry is not None and entry[0] is self.operation:
                    plans[key] = (grouped_field_set, entry[2])
                    return entry[2]
            plan = self._new_plan(parent_type, grouped_field_set)
            plans[key] = (grouped_field_set, plan)
            if shared_key is not None:
                if len(shared) >= MAX_SHARED_PLANS:
                    shared.clear()
                # The entry keeps the document's nodes alive: their ids stay theirs.
                shared[shared_key] = (self.operation, self.fragments, plan)
            return plan

        def _new_plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
            steps = []
            for response_key, details in grouped_field_set.items():
                name = details[0].node.name.value
                if name == TYPENAME:
                    steps.append(Step(response_key, None, None, typename=True))
                    continue
                attribute = attributes.get((parent_type.name, name))
                field = parent_type.fields.get(name)
                shape = None
                if attribute is not None and field is not None:
                    shape = self._shape(field.type, details)
                steps.append(Step(response_key, attribute, shape))
            return Plan.of(parent_type.name, steps)

        def _shape(self, kind: GraphQLOutputType, details: Any) -> Shape | None:
            non_null = isinstance(kind, GraphQLNonNull)
            inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
            if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
                return Leaf(non_null, serializers.get(inner.name, inner.serialize))
            if isinstance(inner, GraphQLList):
                item = self._shape(inner.of_type, details)
                return None if item is None else ListOf(non_null, item)
            if isinstance(inner, GraphQLObjectType) and not inner.is_type_of:
                grouped, deferred, _ = self.collect_subfields(inner, details)
                if deferred:
                    return None
                plan = self._plan(inner, grouped)
                return Nested(non_null, plan) if plan.all_plain else None
            return None  # interfaces and unions

        def _complete(self, shape: Shape, value: Any) -> Any:
            if value is None:
                if shape.non_null:
                    raise Unusual  # graphql-core reports it, at the right path
                return None
            if type(shape) is Leaf:
                return shape.serialize(value)
            if type(shape) is Nested:
                out: dict[str, Any] = {}
                for step in shape.plan.steps:
                    if step.typename:
                        out[step.key] = shape.plan.type_name
                    else:
                        out[step.key] = self._complete(
                            step.shape,  # type: ignore[arg-type]
                            getattr(value, step.attribute),  # type: ignore[arg-type]
                        )
                return out
            assert type(shape) is ListOf
            if isinstance(value, (str, bytes, dict)):
                raise Unusual  # not a list: graphql-core says so
            item = shape.item
            return [self._complete(item, v) for v in value]

    return PlainDataExecution


def _merged(out: dict[str, Any], slow: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """``out`` with the ``slow`` fields' results in their places (a field graphql-core
    left out, e.g. one not in the schema, is left out here too)."""
    for key in slow:
        if key in rest:
            out[key] = rest[key]
        else:
            del out[key]
    return out


async def _merged_later(
    out: dict[str, Any], slow: dict[str, Any], rest: Awaitable[dict[str, Any]]
) -> dict[str, Any]:
    return _merged(out, slow, await rest)
