"""The schema, built once per process with its protections.

``build_schema(mode)`` returns an :class:`AnalyticsSchema`: the Strawberry
schema plus the :class:`DocumentCache` that parses and validates each distinct
document once. In production mode the documents may not introspect and error
messages carry no "Did you mean ..." suggestions.
"""

from __future__ import annotations

from graphql import GraphQLError
from strawberry import Schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types.execution import ExecutionContext

from analytics_graph.api.engine.documents import DocumentCache
from analytics_graph.api.engine.execution import execution_for
from analytics_graph.api.engine.extensions import FreshReads, MaskUnexpected, PreparedDocuments
from analytics_graph.api.engine.limits import Limits
from analytics_graph.api.engine.masking import log_unexpected
from analytics_graph.api.mutations import Mutation
from analytics_graph.api.queries import Query
from analytics_graph.api.subscriptions import Subscription
from analytics_graph.api.types.scalars import SCALARS
from analytics_graph.config import Mode


class AnalyticsSchema(Schema):
    """The Strawberry schema; logs only unexpected errors (with their tracebacks)."""

    documents: DocumentCache

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


def build_schema(mode: Mode = Mode.DEVELOPMENT, limits: Limits | None = None) -> AnalyticsSchema:
    """The schema with its document cache, for ``mode``."""
    production = mode is Mode.PRODUCTION
    schema = AnalyticsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(disable_field_suggestions=production, scalar_map=SCALARS),
        extensions=[lambda: PreparedDocuments(schema.documents), FreshReads, MaskUnexpected],
    )
    schema.execution_context_class = execution_for(schema._schema)
    schema.documents = DocumentCache(
        schema._schema,
        limits or Limits(),
        introspection=not production,
        suggestions=not production,
    )
    return schema


def export_sdl() -> str:
    """The schema as SDL: what ``schema.graphql`` holds (``analytics-graph export-schema``)."""
    return build_schema().as_str() + "\n"
