"""How operations run: prepared documents, limits, execution, masking.

Everything here leans on graphql-core and Strawberry, including names they do not
publish (``Schema._schema``, ``Info._raw_info``, the execution context's
``execute_fields`` and ``collect_subfields``, the ``"strawberry-definition"`` field
extension); this package is the only place that uses them, and
``tests/unit/test_engine_internals.py`` fails loudly when one changes shape.
"""

from analytics_graph.api.engine.compiled import Compiled
from analytics_graph.api.engine.documents import DocumentCache, Prepared
from analytics_graph.api.engine.execute import Engine, Event
from analytics_graph.api.engine.execution import Completion
from analytics_graph.api.engine.limits import Limits
from analytics_graph.api.engine.schema import AnalyticsSchema
from analytics_graph.api.engine.served import Served

__all__ = [
    "AnalyticsSchema",
    "Compiled",
    "Completion",
    "DocumentCache",
    "Engine",
    "Event",
    "Limits",
    "Prepared",
    "Served",
]
