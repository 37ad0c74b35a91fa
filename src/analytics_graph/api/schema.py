"""The schema, built once per process with its protections.

``build_schema(mode)`` returns an :class:`AnalyticsSchema`: the Strawberry schema
whose operations all run through one :class:`~analytics_graph.api.engine.Engine`
(prepared documents, limits, compiled completion, masking). In production mode
the documents may not introspect and error messages carry no "Did you mean ..."
suggestions.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import Any

from graphql import ExecutionResult as CoreResult
from graphql import GraphQLError, OperationType
from strawberry import Schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types.execution import ExecutionResult, PreExecutionError

from analytics_graph.api.engine import Completion, Engine, Limits, Prepared
from analytics_graph.api.mutations import Mutation
from analytics_graph.api.queries import Query
from analytics_graph.api.subscriptions import Subscription
from analytics_graph.api.types.scalars import SCALARS
from analytics_graph.config import Mode

QUERY_AND_MUTATION = (OperationType.QUERY, OperationType.MUTATION)


class AnalyticsSchema(Schema):
    """The Strawberry schema; ``execute`` and ``stream`` (what the websocket protocol
    runs) go through :attr:`engine`, not through Strawberry's extension machinery."""

    engine: Engine

    @property
    def documents(self) -> Any:
        return self.engine.documents

    async def execute(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A query or mutation (``schema.execute`` in tests and scripts)."""
        allowed = tuple(allowed_operation_types or QUERY_AND_MUTATION)
        prepared, refused = self._prepare(query, operation_name, allowed)
        if refused is not None:
            return refused
        assert prepared.document is not None
        result = await self.engine.execute(
            prepared.document,
            context_value,
            variables=variable_values,
            operation_name=operation_name,
            root=root_value,
        )
        return _strawberry(result)

    async def stream(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> AsyncGenerator[ExecutionResult, None]:
        """Any operation over a websocket: a subscription's results, or one result."""
        return self._stream_results(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
        )

    async def _stream_results(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None,
        context_value: Any | None,
        root_value: Any | None,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType] | None,
    ) -> AsyncGenerator[ExecutionResult, None]:
        allowed = tuple(allowed_operation_types or OperationType)
        prepared, refused = self._prepare(query, operation_name, allowed)
        if refused is not None:
            yield refused
            return
        assert prepared.document is not None
        if context_value is not None and getattr(context_value, "shared", False):
            context_value.renew()  # each operation on a connection reads afresh
        kind = prepared.operation_type(operation_name)
        if kind is not OperationType.SUBSCRIPTION:
            result = await self.engine.execute(
                prepared.document,
                context_value,
                variables=variable_values,
                operation_name=operation_name,
                root=root_value,
            )
            yield _strawberry(result)
            return
        results = await self.engine.subscribe(
            prepared.document,
            context_value,
            variables=variable_values,
            operation_name=operation_name,
        )
        if isinstance(results, CoreResult):
            yield PreExecutionError(data=None, errors=results.errors)
            return
        async for result in results:
            yield _strawberry(result)

    def _prepare(
        self, query: str | None, operation_name: str | None, allowed: tuple[OperationType, ...]
    ) -> tuple[Prepared, PreExecutionError | None]:
        prepared = self.engine.documents.prepare(query or "")
        if prepared.errors:
            return prepared, PreExecutionError(data=None, errors=list(prepared.errors))
        kind = prepared.operation_type(operation_name)
        problem = None
        if kind is None:
            problem = (
                "name the operation to run with `operationName`"
                if operation_name is None
                else f"no operation named {operation_name!r}"
            )
        elif kind not in allowed:
            problem = f"{kind.value} operations are not allowed here"
        if problem is not None:
            error = GraphQLError(problem, extensions={"code": "BAD_REQUEST"})
            return prepared, PreExecutionError(data=None, errors=[error])
        return prepared, None


def _strawberry(result: CoreResult) -> ExecutionResult:
    return ExecutionResult(data=result.data, errors=result.errors, extensions=result.extensions)


def build_schema(
    mode: Mode = Mode.DEVELOPMENT,
    limits: Limits | None = None,
    completion: Completion = "compiled",
) -> AnalyticsSchema:
    """The schema with its engine, for ``mode``."""
    production = mode is Mode.PRODUCTION
    schema = AnalyticsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(disable_field_suggestions=production, scalar_map=SCALARS),
    )
    schema.engine = Engine(
        schema,
        limits or Limits(),
        introspection=not production,
        suggestions=not production,
        completion=completion,
    )
    return schema


def export_sdl() -> str:
    """The schema as SDL: what ``schema.graphql`` holds (``analytics-graph export-schema``)."""
    return build_schema().as_str() + "\n"
