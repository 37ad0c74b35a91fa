"""The one way operations run: queries, mutations and subscriptions alike.

:class:`Engine` holds graphql-core's schema (built by Strawberry), the cache of
prepared documents and the execution context class; :meth:`Engine.execute` runs
a prepared operation and is the one place where unexpected errors are logged
(with their tracebacks) and masked. With ``offload`` (a large request), the
variables are coerced in a worker thread (graphql-core's executor ``build``),
so the event loop keeps serving other requests meanwhile. HTTP queries and mutations, websocket
operations and every event of a subscription go through it.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Sequence,
)
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    create_source_event_stream,
    execute,
)
from strawberry import Schema
from strawberry.execution import optimized_is_awaitable

from analytics_graph.api.engine.compiled import Compiled, compile_answer
from analytics_graph.api.engine.documents import DocumentCache
from analytics_graph.api.engine.execution import Completion, execution_for
from analytics_graph.api.engine.limits import Limits
from analytics_graph.api.engine.masking import log_unexpected, masked


@dataclass(frozen=True, slots=True)
class Event:
    """One subscription's event to execute: ``make()`` reads the event (the root value
    of the subscription's operation), or ``None`` when there is nothing to send."""

    document: DocumentNode
    context: Any
    variables: dict[str, Any] | None
    operation_name: str | None
    make: Callable[[], Awaitable[Any]]
    compiled: Compiled | None = None
    """The operation compiled for this question (``compiled.py``): answers the event
    unless it has something to report, else the normal execution does."""


class Engine:
    """Runs prepared documents against one Strawberry schema's graphql-core schema.

    ``completion`` chooses how plain data is completed: ``plans`` (the default) or
    ``stock`` (graphql-core's own path for every field); see ``execution.py``.
    """

    def __init__(
        self,
        schema: Schema,
        limits: Limits,
        *,
        introspection: bool,
        suggestions: bool,
        completion: Completion = "plans",
    ) -> None:
        self.strawberry_schema = schema
        self.graphql_schema: GraphQLSchema = schema._schema
        self.documents = DocumentCache(
            self.graphql_schema, limits, introspection=introspection, suggestions=suggestions
        )
        self.execution_context_class = execution_for(self.graphql_schema, completion)
        self.compiled_answers = 0
        """Events answered by their compiled operation so far (benchmarks, tests)."""

    async def execute(
        self,
        document: DocumentNode,
        context: Any,
        *,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        root: Any = None,
        offload: bool = False,
    ) -> ExecutionResult:
        """Runs the operation of a valid ``document``; unexpected errors come back
        masked (and are logged here). ``offload``: coerce the variables in a thread."""
        if offload:
            return await self._execute_offloaded(document, context, variables, operation_name, root)
        result = execute(
            self.graphql_schema,
            document,
            root_value=root,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            executor_class=self.execution_context_class,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        )
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return _masked(result)

    async def _execute_offloaded(
        self,
        document: DocumentNode,
        context: Any,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        root: Any,
    ) -> ExecutionResult:
        # What graphql-core's execute does, with the executor built (the variables
        # coerced: the CPU-heavy part of a large batch) in a worker thread.
        executor = await asyncio.to_thread(
            self.execution_context_class.build,
            self.graphql_schema,
            document,
            root_value=root,
            context_value=context,
            raw_variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        )
        if isinstance(executor, list):
            return _masked(ExecutionResult(None, executor))
        result = executor.execute_operation()
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return _masked(result)

    async def subscribe(
        self,
        document: DocumentNode,
        context: Any,
        *,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> AsyncIterator[ExecutionResult] | ExecutionResult:
        """The results of a subscription, one per event its field yields, each run by
        :meth:`execute`; or, when it cannot start, an ``ExecutionResult`` of errors."""
        executor = self.execution_context_class.build(
            self.graphql_schema,
            document,
            context_value=context,
            raw_variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        )
        if isinstance(executor, list):  # variables that do not coerce
            return _masked(ExecutionResult(None, executor))
        stream = create_source_event_stream(executor)
        if isawaitable(stream):
            stream = await stream
        if isinstance(stream, ExecutionResult):
            return _masked(stream)
        return self._each(stream, document, context, variables, operation_name)

    def compile(
        self, document: DocumentNode, variables: dict[str, Any] | None, operation_name: str | None
    ) -> Compiled | None:
        """A subscription's operation compiled for a question's variables (for
        :class:`Event`), or ``None`` where only the normal execution answers it."""
        return compile_answer(
            self.strawberry_schema,
            self.execution_context_class,
            document,
            variables,
            operation_name,
        )

    async def execute_events(self, events: Sequence[Event]) -> list[ExecutionResult | None]:
        """Each event made and executed, all together (see the module docstring); an
        event that fails to be made gives a result of its (masked) error, as a
        subscription's failing generator does; ``None`` where there is no event."""
        return await asyncio.gather(*(self._execute_event(e) for e in events))

    async def _execute_event(self, event: Event) -> ExecutionResult | None:
        try:
            root = await event.make()
        except Exception as error:
            return _masked(ExecutionResult(None, [_located(error)]))
        if root is None:
            return None
        if event.compiled is not None:
            data = await event.compiled.data(root, event.context)
            if data is not None:
                self.compiled_answers += 1
                return ExecutionResult(data)
        return await self.execute(
            event.document,
            event.context,
            variables=event.variables,
            operation_name=event.operation_name,
            root=root,
        )

    async def _each(
        self,
        events: AsyncIterable[Any],
        document: DocumentNode,
        context: Any,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> AsyncGenerator[ExecutionResult, None]:
        try:
            async for event in events:
                yield await self.execute(
                    document,
                    context,
                    variables=variables,
                    operation_name=operation_name,
                    root=event,
                )
        except Exception as error:  # the subscription's own generator failed
            yield _masked(ExecutionResult(None, [_located(error)]))
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()


def _located(error: Exception) -> GraphQLError:
    if isinstance(error, GraphQLError):
        return error
    return GraphQLError(str(error), original_error=error)


def _masked(result: ExecutionResult) -> ExecutionResult:
    if result.errors:
        log_unexpected(result.errors)
        result.errors = [masked(e) for e in result.errors]
    return result
