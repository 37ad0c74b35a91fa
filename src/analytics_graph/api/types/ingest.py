"""``recordEngagement``: a GraphQL batch through the same validation as bulk ingest."""

from __future__ import annotations

from collections.abc import Sequence

from analytics_graph.api.services import Services
from analytics_graph.api.types.inputs import EngagementEventInput, as_ingest_event
from analytics_graph.api.types.problems import IngestRejected, IngestResult, RejectedEvent
from analytics_graph.observability import metrics


def _too_large(size: int, limit: int) -> IngestRejected:
    reason = f"a batch holds at most {limit} events; this one has {size}"
    return IngestRejected(
        message=f"batch refused: {reason}; nothing was written",
        rejected=[RejectedEvent(index=limit, field=None, reason=reason)],
    )


async def record(
    services: Services, events: Sequence[EngagementEventInput]
) -> IngestResult | IngestRejected:
    """Validates the whole batch, then appends it (or nothing of it)."""
    limit = services.limits.max_batch
    if len(events) > limit:
        return _too_large(len(events), limit)
    outcome = await services.ingestor.ingest_events([as_ingest_event(e) for e in events])
    metrics.count_ingest("graphql", outcome)
    if outcome.rejections:
        rejected = [
            RejectedEvent(
                index=r.index if r.index is not None else limit, field=r.field, reason=r.reason
            )
            for r in outcome.rejections
        ]
        count = len(rejected)
        return IngestRejected(
            message=f"{count} of {len(events)} events rejected; nothing of the batch was written",
            rejected=rejected,
        )
    return IngestResult(accepted=outcome.accepted, duplicates=outcome.duplicates)
