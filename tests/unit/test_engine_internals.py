"""The names the engine uses that graphql-core and Strawberry do not publish, checked
for the shape the engine relies on: an upgrade that changes one fails here, loudly,
naming it, instead of somewhere deep in an answer."""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLSchema, create_source_event_stream
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.executor import Executor
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import (
    StrawberryGraphQLCoreExecutionContext,
    _OperationContextAwareGraphQLResolveInfo,
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types.arguments import convert_arguments
from strawberry.types.execution import PreExecutionError

from analytics_graph.api.engine.execution import DEFINITION


@strawberry.type
class _Query:
    plain: int = 1

    @strawberry.field
    def resolved(self, info: strawberry.Info) -> str:
        raw = info._raw_info  # what engine/selection.py reads: the selection's AST
        return f"{raw.field_nodes[0].name.value} {sorted(raw.fragments)}"


def _schema() -> strawberry.Schema:
    return strawberry.Schema(query=_Query)


def test_a_strawberry_schema_holds_graphql_cores_schema_as__schema() -> None:
    assert isinstance(_schema()._schema, GraphQLSchema)


def test_fields_carry_their_strawberry_definition_under_the_known_key() -> None:
    fields = _schema()._schema.query_type.fields  # type: ignore[union-attr]
    plain = fields["plain"].extensions[DEFINITION]
    resolved = fields["resolved"].extensions[DEFINITION]
    assert plain.python_name == "plain" and plain.base_resolver is None
    assert resolved.base_resolver is not None
    for attribute in ("extensions", "permission_classes", "directives"):
        assert hasattr(plain, attribute), attribute


async def test_info_exposes_graphql_cores_info_as__raw_info() -> None:
    result = await _schema().execute("query { ...F } fragment F on Query { resolved }")
    assert result.errors is None
    assert result.data == {"resolved": "resolved ['F']"}


def test_the_execution_context_has_the_methods_the_engine_overrides() -> None:
    executor = StrawberryGraphQLCoreExecutionContext
    parameters = list(inspect.signature(executor.execute_fields).parameters)
    assert parameters == [
        "self",
        "parent_type",
        "source_value",
        "path",
        "grouped_field_set",
        "position_context",
    ]
    assert list(inspect.signature(executor.collect_subfields).parameters)[:3] == [
        "self",
        "return_type",
        "field_details_list",
    ]
    assert "async_helpers" in inspect.get_annotations(Executor)
    assert "self.async_helpers = GraphQLResolveInfoHelpers(" in inspect.getsource(Executor)
    assert {"gather_async_work", "track_async_work"} <= set(dir(executor))
    assert GraphQLResolveInfoHelpers._fields == ("gather", "track")
    assert FragmentDetails.__name__ == "FragmentDetails"


def test_building_an_executor_and_its_event_stream_take_what_the_engine_passes() -> None:
    build = inspect.signature(StrawberryGraphQLCoreExecutionContext.build).parameters
    for name in ("schema", "document", "context_value", "raw_variable_values", "operation_name"):
        assert name in build, name
    assert list(inspect.signature(create_source_event_stream).parameters) == ["executor"]


def test_the_websocket_protocol_runs_operations_through_schema_stream() -> None:
    """``AnalyticsSchema.stream`` replaces Strawberry's: the handler must still call it,
    await it, and accept Strawberry's result classes."""
    source = inspect.getsource(BaseGraphQLTransportWSHandler.run_operation)
    assert "await self.schema.stream(" in source
    assert issubclass(PreExecutionError, strawberry.types.execution.ExecutionResult)


def test_strawberrys_validation_rules_are_where_the_document_cache_imports_them() -> None:
    assert MaybeNullValidationRule.__name__ == "MaybeNullValidationRule"
    assert OneOfInputValidationRule.__name__ == "OneOfInputValidationRule"


@strawberry.type
class _Subscription:
    @strawberry.subscription
    async def ticks(self, start: int) -> AsyncGenerator[int, None]:
        yield start


def test_what_compiled_operations_call_has_the_shape_they_rely_on() -> None:
    """``engine/compiled.py`` builds resolve infos from a template (a named tuple with
    ``root_value`` and ``context``), converts arguments once with Strawberry's
    ``convert_arguments``, asks the converter for a field's exception handlers, calls
    a resolver's ``wrapped_func`` as Strawberry's wrapper does, and resolves a
    subscription's field, in an event's execution, to the event itself."""
    schema = strawberry.Schema(query=_Query, subscription=_Subscription)
    fields = schema._schema.query_type.fields  # type: ignore[union-attr]
    definition = fields["resolved"].extensions[DEFINITION]
    resolver = definition.base_resolver
    assert resolver.self_parameter is not None and resolver.info_parameter is not None
    assert resolver.parent_parameter is None and resolver.root_parameter is None
    assert callable(resolver.wrapped_func)
    assert not schema.schema_converter._get_field_exception_handlers(definition)
    assert list(inspect.signature(convert_arguments).parameters)[:4] == [
        "value",
        "arguments",
        "scalar_registry",
        "config",
    ]
    assert schema.config.info_class is strawberry.Info
    info_fields = _OperationContextAwareGraphQLResolveInfo._fields
    assert "root_value" in info_fields and "context" in info_fields
    ticks = schema._schema.subscription_type.fields["ticks"]  # type: ignore[union-attr]
    assert ticks.subscribe is not None
    event = object()
    assert ticks.resolve is not None and ticks.resolve(event, None, start=1) is event
