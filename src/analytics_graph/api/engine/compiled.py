"""Subscription events answered by compiled plans, without graphql-core's executor.

A round of shared subscriptions (``api/live``) executes, for each question, the
same document with the same variables and context, on a new root value (the
update). graphql-core redoes everything each time: the executor (the variables
coerced again), the collected fields, each field's resolve info and arguments
(Strawberry converts them to its input types again), the completion of each value:
about 200 us a question, most of a round.

:func:`compile_answer` does what does not depend on the root value once per
question (the operation, fields, fragments, aliases, ``@skip`` / ``@include``,
``__typename``, the arguments): per response key, the attribute to read (plain
data, completed by ``completion.py``'s functions, as the engine's plans do) or the
resolver to call, with its arguments coerced (and converted to Strawberry's types)
once and its resolve info made from a template; objects are completed in the
selection's order. A resolver with no Strawberry extension or exception handler is
called directly, as Strawberry's wrapper would call it; any other through its
graphql-core ``resolve``.

It leaves the question to the engine (``None``) when the selection has what it does
not compile: an abstract type, a type with ``is_type_of``, ``@defer``, a resolver
inside a list. And at run time it never reports anything: an error raised by a
resolver, a null where the schema says non-null, a value that does not serialise,
make :meth:`Compiled.data` give ``None``, and the caller runs the engine's normal
execution of the event, which reports it with graphql-core's messages, paths and
null propagation (the round's loaders have kept what the resolvers read).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, NamedTuple, TypeAlias

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    default_field_resolver,
)
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from strawberry import Schema
from strawberry.execution import optimized_is_awaitable
from strawberry.types.arguments import convert_arguments

from analytics_graph.api.engine.completion import Complete, Unusual
from analytics_graph.api.engine.execution import DEFINITION, TYPENAME, default_attribute

log = logging.getLogger(__name__)


class Unsupported(Exception):
    """Raised while compiling: the engine answers this question."""


class Question(NamedTuple):
    """What a run reads besides the source values: the operation's root value (the
    update) and the question's context."""

    root: Any
    context: Any


Value: TypeAlias = Callable[[Any, Question], Awaitable[Any]]
"""Completes a value (resolving what it must) for a question."""
Call: TypeAlias = Callable[[Any, Any], Any]
"""Calls a field's resolver on a source with a resolve info."""

CONSTANT, PLAIN, RESOLVED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Compiled:
    """One question's operation, compiled: :meth:`data` answers it for a root value."""

    complete: Value

    async def data(self, root: Any, context: Any) -> dict[str, Any] | None:
        """The answer's data, or ``None`` when the engine must execute this event
        (something to report, or data of an unexpected shape)."""
        try:
            data: dict[str, Any] = await self.complete(root, Question(root, context))
        except Exception:  # Unusual, an error to report: the engine's path
            return None
        return data


def compile_answer(
    strawberry_schema: Schema,
    executor_class: Any,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> Compiled | None:
    """The operation compiled for these variables, or ``None`` where the engine must
    execute it (see the module docstring). ``executor_class`` is the engine's
    execution context class with plans (``execution.execution_for``)."""
    schema: GraphQLSchema = strawberry_schema._schema
    executor = executor_class.build(
        schema,
        document,
        raw_variable_values=variables,
        operation_name=operation_name,
        is_awaitable=optimized_is_awaitable,
    )
    if isinstance(executor, list) or not hasattr(executor, "_shape"):
        return None  # variables that do not coerce; or no plans (``stock``)
    try:
        return Compiler(strawberry_schema, executor).compiled()
    except (Unsupported, GraphQLError):
        return None
    except Exception:  # a bug here: the engine still answers
        log.exception("compiling a subscription's answer failed; the engine answers it")
        return None


class Compiler:
    """Compiles the operation of ``executor`` (built for the question's variables)."""

    def __init__(self, strawberry_schema: Schema, executor: Any) -> None:
        self.executor = executor
        self.schema: GraphQLSchema = executor.schema
        self.config = strawberry_schema.config
        self.converter = strawberry_schema.schema_converter
        self.completions = executor.completions

    def compiled(self) -> Compiled:
        executor = self.executor
        if executor.middleware_manager is not None:
            raise Unsupported
        operation = executor.operation
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise Unsupported
        grouped, deferred, _ = collect_fields(
            self.schema,
            executor.fragments,
            executor.variable_values,
            root_type,
            operation,
            executor.hide_suggestions,
        )
        if deferred:
            raise Unsupported
        return Compiled(self._object(root_type, grouped, None))

    def _object(self, parent: GraphQLObjectType, grouped: Any, path: Path | None) -> Value:
        """Completes a ``parent`` object with the fields of ``grouped``."""
        steps: list[tuple[str, int, Any]] = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            if name == TYPENAME:
                steps.append((key, CONSTANT, parent.name))
                continue
            field = parent.fields.get(name)
            if field is None:
                raise Unsupported
            here = Path(path, key, parent.name)
            attribute = default_attribute(field)
            if attribute is not None and attribute.isidentifier():
                steps.append((key, *self._read(attribute, field.type, details, here)))
            else:
                steps.append((key, RESOLVED, self._resolved(parent, field, details, here)))
        return _object(steps)

    def _read(
        self, attribute: str, kind: GraphQLOutputType, details: Any, path: Path
    ) -> tuple[int, Any]:
        """A plain field: its attribute read and completed."""
        complete, resolving = self._completer(kind, details, path)
        if resolving is None:
            assert complete is not None

            def read(source: Any) -> Any:
                return complete(getattr(source, attribute))

            return PLAIN, read

        async def read_and_resolve(source: Any, question: Question) -> Any:
            return await resolving(getattr(source, attribute), question)

        return RESOLVED, read_and_resolve

    def _completer(
        self, kind: GraphQLOutputType, details: Any, path: Path
    ) -> tuple[Complete | None, Value | None]:
        """Completes a value of ``kind``: at once when it is all plain data (the
        engine's plans), else (an object with resolvers inside) as a coroutine."""
        shape = self.executor._shape(kind, details)
        if shape is not None:
            return self.completions.completer(shape), None
        non_null = isinstance(kind, GraphQLNonNull)
        inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
        if not isinstance(inner, GraphQLObjectType) or inner.is_type_of:
            raise Unsupported  # abstract types, lists of objects with resolvers
        grouped, deferred, _ = self.executor.collect_subfields(inner, details)
        if deferred:
            raise Unsupported
        complete = self._object(inner, grouped, path)

        async def complete_object(value: Any, question: Question) -> Any:
            if value is None:
                if non_null:
                    raise Unusual
                return None
            return await complete(value, question)

        return None, complete_object

    def _resolved(
        self, parent: GraphQLObjectType, field: GraphQLField, details: Any, path: Path
    ) -> Value:
        """A field with a resolver (or arguments): called, its value completed."""
        executor = self.executor
        first = details[0]
        args = (
            get_argument_values(
                field,
                first.node,
                executor.variable_values,
                first.fragment_variable_values,
                executor.hide_suggestions,
            )
            if field.args or first.node.arguments
            else {}
        )
        template = executor.build_resolve_info(field, [d.node for d in details], parent, path)
        info_of = _infos(template)
        call = self._direct(field, template, args) or _through_graphql(field, args)
        complete, resolving = self._completer(field.type, details, path)

        if resolving is None:
            assert complete is not None

            async def resolved(source: Any, question: Question) -> Any:
                value = call(source, info_of(question))
                if isawaitable(value):
                    value = await value
                return complete(value)

            return resolved

        async def resolved_object(source: Any, question: Question) -> Any:
            value = call(source, info_of(question))
            if isawaitable(value):
                value = await value
            return await resolving(value, question)

        return resolved_object

    def _direct(self, field: GraphQLField, template: Any, args: dict[str, Any]) -> Call | None:
        """Calls a Strawberry resolver as Strawberry's wrapper does (the source as
        ``self``, root or parent; an ``Info``), with the arguments converted once;
        ``None`` for a field whose wrapper does more (extensions, exception handlers)."""
        definition = (field.extensions or {}).get(DEFINITION)
        if definition is None or definition.base_resolver is None:
            return None
        if definition.extensions or definition.is_subscription:
            return None
        if self.converter._get_field_exception_handlers(definition):
            return None
        resolver = definition.base_resolver
        info_class = self.config.info_class
        converted = convert_arguments(
            args,
            definition.arguments,
            scalar_registry=self.converter.scalar_registry,
            config=self.config,
            info=info_class(_raw_info=template, _field=definition),
        )
        sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p]
        info_name = resolver.info_parameter.name if resolver.info_parameter else None
        function = resolver.wrapped_func
        takes_self = resolver.self_parameter is not None

        def call(source: Any, info: Any) -> Any:
            kwargs = dict(converted)
            for name in sources:
                kwargs[name] = source
            if info_name is not None:
                kwargs[info_name] = info_class(_raw_info=info, _field=definition)
            return function(source, **kwargs) if takes_self else function(**kwargs)

        return call


def _infos(template: Any) -> Callable[[Question], Any]:
    """Makes ``template`` (a resolve info, a named tuple) with a question's root value
    and context (what ``_replace`` does, without its cost)."""
    fields = type(template)._fields
    at_root, at_context = fields.index("root_value"), fields.index("context")
    head = tuple(template[:at_root])
    middle = tuple(template[at_root + 1 : at_context])
    tail = tuple(template[at_context + 1 :])
    kind, new = type(template), tuple.__new__

    def info_of(question: Question) -> Any:
        return new(kind, (*head, question.root, *middle, question.context, *tail))

    return info_of


def _through_graphql(field: GraphQLField, args: dict[str, Any]) -> Call:
    """Calls the field's graphql-core ``resolve`` (Strawberry's wrapper, or the
    default resolver), as graphql-core does, with the arguments coerced once."""
    resolve = field.resolve or default_field_resolver

    def call(source: Any, info: Any) -> Any:
        return resolve(source, info, **args)

    return call


def _object(steps: list[tuple[str, int, Any]]) -> Value:
    """Completes an object: its keys in the selection's order."""

    async def complete(source: Any, question: Question) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, how, step in steps:
            if how == PLAIN:
                out[key] = step(source)
            elif how == RESOLVED:
                out[key] = await step(source, question)
            else:
                out[key] = step
        return out

    return complete
