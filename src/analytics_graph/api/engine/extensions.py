"""Schema extensions: prepared documents instead of parsing and validating, and masking."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from analytics_graph.api.engine.documents import DocumentCache
from analytics_graph.api.engine.masking import MASKED_MESSAGE, is_unexpected, masked


class PreparedDocuments(SchemaExtension):
    """Takes the parsed document and its validation errors from a :class:`DocumentCache`."""

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            prepared = self.cache.prepare(context.query)
            if prepared.document is None:
                raise prepared.errors[0]
            context.graphql_document = prepared.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.query:
            context.pre_execution_errors = list(self.cache.prepare(context.query).errors)
        yield


class FreshReads(SchemaExtension):
    """Each operation on a shared (websocket) context starts with fresh loaders."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if getattr(context, "shared", False):
            context.renew()
        yield


class MaskUnexpected(MaskErrors):
    """Strawberry's ``MaskErrors`` for unexpected errors only, with a code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=MASKED_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return masked(error)

    def _process_result(self, result: object) -> None:
        # As Strawberry's, without its isinstance check against a runtime Protocol
        # (slow, and it ran on every answer).
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]
