"""The Strawberry schema whose operations all run through the :class:`Engine`.

Strawberry's ``Schema.execute`` and ``Schema.stream`` (what its websocket
protocol handler awaits for every operation) are replaced: the document comes
from the engine's cache, and the engine's ``execute`` runs it, so queries,
mutations and subscriptions are masked and logged in one place, with none of
Strawberry's per-request extension machinery.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import Any

from graphql import ExecutionResult as CoreResult
from graphql import GraphQLError, OperationType
from strawberry import Schema
from strawberry.types.execution import ExecutionResult, PreExecutionError

from analytics_graph.api.engine.documents import DocumentCache, Prepared
from analytics_graph.api.engine.execute import Engine

QUERY_AND_MUTATION = (OperationType.QUERY, OperationType.MUTATION)


class AnalyticsSchema(Schema):
    """The Strawberry schema; ``execute`` and ``stream`` (what the websocket protocol
    runs) go through :attr:`engine`, not through Strawberry's extension machinery."""

    engine: Engine

    @property
    def documents(self) -> DocumentCache:
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
