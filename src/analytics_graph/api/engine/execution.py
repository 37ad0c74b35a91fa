"""A faster way through the plain data of an answer (completed by ``completion.py``).

An analytics answer holds hundreds of fields that are plain data: read off an
attribute with Strawberry's default resolver (no resolver of our own, no
arguments, permissions or extensions), of a scalar or enum type, or of an object
type whose selected fields are all such fields, or a list of these
(``Overview`` -> ``Metric`` -> ``[DailyValue]``, ``VideoStats`` -> ``Video { id
caption }``, ``Share`` ...). graphql-core completes each of them separately
(resolve info, resolver call, completion, serialisation: several microseconds a
field).

:func:`execution_for`'s execution context makes, once per selection (and keeps
per parsed document), a plan of the selection's fields: for each plain field,
the attribute to read and the function completing its value in one
pass (``completion.py``); every other field
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

from collections.abc import Awaitable
from typing import Any, Literal, TypeAlias

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
)
from graphql.execution.collect_fields import FragmentDetails
from graphql.pyutils import Path
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from analytics_graph.api.engine.completion import (
    Completions,
    Interpreted,
    Leaf,
    ListOf,
    Nested,
    Plan,
    Shape,
    Step,
    inline_kind,
)

Completion: TypeAlias = Literal["plans", "stock"]

DEFINITION = "strawberry-definition"
TYPENAME = "__typename"
MAX_SHARED_PLANS = 2_000
CONDITIONS = frozenset(("skip", "include"))


class Bounded(dict[Any, Any]):
    """A dict holding at most ``maxsize`` entries: the oldest goes first."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def keep(self, key: Any, value: Any) -> None:
        while len(self) >= self.maxsize:
            del self[next(iter(self))]
        self[key] = value


def uses_conditions(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDetails],
    known: Bounded,
) -> bool:
    """Whether ``@skip`` / ``@include`` appear in the operation or its fragments
    (remembered in ``known`` per operation node, which the entry keeps alive)."""
    found = known.get(id(operation))
    if found is not None and found[0] is operation:
        return bool(found[1])
    nodes: list[Any] = [operation, *(f.definition for f in fragments.values())]
    uses = False
    while nodes and not uses:
        node = nodes.pop()
        uses = any(d.name.value in CONDITIONS for d in getattr(node, "directives", None) or ())
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            nodes.extend(selection_set.selections)
    known.keep(id(operation), (operation, uses))
    return uses


def default_attribute(field: GraphQLField) -> str | None:
    """The attribute a field reads, if Strawberry's default resolver is all it runs."""
    definition = (field.extensions or {}).get(DEFINITION)
    if field.args or definition is None or definition.base_resolver is not None:
        return None
    if definition.extensions or definition.permission_classes or definition.directives:
        return None
    return str(definition.python_name)


class Execution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, without the reference cycle graphql-core makes."""

    @property
    def async_helpers(self) -> GraphQLResolveInfoHelpers:
        """Made when a resolver's info asks for them. graphql-core keeps them on the
        execution context, where their bound methods of it make a reference cycle:
        the whole answer's data (context, loaders, rows) would then wait for the
        garbage collector instead of going with the request, and the collector,
        run every few hundred allocations, would trace it again and again."""
        return GraphQLResolveInfoHelpers(self.gather_async_work, self.track_async_work)

    @async_helpers.setter
    def async_helpers(self, helpers: GraphQLResolveInfoHelpers) -> None:
        pass  # made when asked for, as above


def execution_for(
    schema: GraphQLSchema, completion: Completion = "plans"
) -> type[StrawberryGraphQLCoreExecutionContext]:
    """The execution context class for ``schema`` (what each field reads found once):
    plain data completed by plans (``plans``), or (``stock``)
    graphql-core's path for every field."""
    if completion == "stock":
        return Execution
    completions: Completions = Interpreted()
    _completions = completions
    attributes: dict[tuple[str, str], str | None] = {}
    for name, kind in schema.type_map.items():
        if isinstance(kind, GraphQLObjectType) and not name.startswith("__"):
            for field_name, field in kind.fields.items():
                attributes[(name, field_name)] = default_attribute(field)

    _shared = Bounded(MAX_SHARED_PLANS)
    _conditional = Bounded(MAX_SHARED_PLANS)

    class PlainDataExecution(Execution):
        _plans: dict[tuple[str, int], tuple[object, Plan]]
        completions = _completions
        shared_plans = _shared
        """Plans kept across executions of a parsed document (bounded)."""
        conditional = _conditional
        """Which operations use ``@skip`` / ``@include`` (bounded)."""

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
            for each in plan.steps:
                if each.typename:
                    out[each.key] = parent_type.name
                    continue
                if each.complete is not None:
                    try:
                        out[each.key] = each.complete(getattr(source_value, each.attribute))  # type: ignore[arg-type]
                        continue
                    except Exception:  # Unusual, or data of an unexpected shape
                        pass  # graphql-core completes it, reporting what is wrong
                if slow is None:
                    slow = {}
                slow[each.key] = grouped_field_set[each.key]
                out[each.key] = None  # keeps the selection's order
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
            shared = self.shared_plans
            if not uses_conditions(self.operation, self.fragments, self.conditional):
                shared_key = (
                    id(self.operation),
                    parent_type.name,
                    tuple((k, id(d[0].node), len(d)) for k, d in grouped_field_set.items()),
                )
                entry = shared.get(shared_key)
                if entry is not None and entry[0] is self.operation:
                    kept: Plan = entry[2]
                    plans[key] = (grouped_field_set, kept)
                    return kept
            plan = self._new_plan(parent_type, grouped_field_set)
            plans[key] = (grouped_field_set, plan)
            if shared_key is not None:
                # The entry keeps the document's nodes alive: their ids stay theirs.
                shared.keep(shared_key, (self.operation, self.fragments, plan))
            return plan

        def _new_plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
            steps = []
            for response_key, details in grouped_field_set.items():
                name = details[0].node.name.value
                if name == TYPENAME:
                    steps.append(Step(response_key, typename=True))
                    continue
                attribute = attributes.get((parent_type.name, name))
                field = parent_type.fields.get(name)
                if attribute is None or field is None:
                    steps.append(Step(response_key))
                    continue
                shape = self._shape(field.type, details)
                steps.append(completions.step(response_key, attribute, shape))
            return completions.plan(parent_type.name, steps)

        def _shape(self, kind: GraphQLOutputType, details: Any) -> Shape | None:
            non_null = isinstance(kind, GraphQLNonNull)
            inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
            if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
                return Leaf(non_null, inner.serialize, inline_kind(inner), inner.name)
            if isinstance(inner, GraphQLList):
                item = self._shape(inner.of_type, details)
                return None if item is None else ListOf(non_null, item)
            if isinstance(inner, GraphQLObjectType) and not inner.is_type_of:
                grouped, deferred, _ = self.collect_subfields(inner, details)
                if deferred:
                    return None
                plan = self._plan(inner, grouped)
                return None if plan.complete is None else Nested(non_null, plan)
            return None  # interfaces and unions

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
