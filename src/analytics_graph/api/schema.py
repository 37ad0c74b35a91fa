"""The schema, built once per process with its protections.

``build_schema(mode)`` returns an :class:`AnalyticsSchema`: the Strawberry schema
whose operations all run through one :class:`~analytics_graph.api.engine.Engine`
(prepared documents, limits, planned completion, masking). In production mode
the documents may not introspect and error messages carry no "Did you mean ..."
suggestions.
"""

from __future__ import annotations

from strawberry.schema.config import StrawberryConfig

from analytics_graph.api.engine import AnalyticsSchema, Completion, Engine, Limits
from analytics_graph.api.mutations import Mutation
from analytics_graph.api.queries import Query
from analytics_graph.api.subscriptions import Subscription
from analytics_graph.api.types.scalars import SCALARS
from analytics_graph.config import Mode


def build_schema(
    mode: Mode = Mode.DEVELOPMENT,
    limits: Limits | None = None,
    completion: Completion = "plans",
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
