"""The projection runner: checkpoints, batching, wake-ups, locks, rebuilds, notices.

The read models themselves are in the top-level ``projections`` package.
"""

from analytics_graph.projection.notices import ChangeFeed, ChangeNotice
from analytics_graph.projection.projector import Batch, Changes, Projection, live_schema
from analytics_graph.projection.rebuild import rebuild
from analytics_graph.projection.runner import ProjectionRunner
from analytics_graph.projection.status import ProjectionStatus, status, wait_until_applied
from analytics_graph.projection.worker import RunnerOptions

__all__ = [
    "Batch",
    "ChangeFeed",
    "ChangeNotice",
    "Changes",
    "Projection",
    "ProjectionRunner",
    "ProjectionStatus",
    "RunnerOptions",
    "live_schema",
    "rebuild",
    "status",
    "wait_until_applied",
]
