"""Reading aggregate events (accounts, videos) of a batch as domain event objects.

They are rare next to engagement facts, so projections decode them in Python with
the eventsourcing mapper (which also applies any upcasters) rather than picking
the library's JSON apart in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from analytics_graph.eventstore.codec import shared_mapper
from analytics_graph.projection.projector import Batch
from analytics_graph.types import Connection


def topic(aggregate: type, event_name: str) -> str:
    """The log ``type`` of ``aggregate``'s event class ``event_name`` (e.g. ``"Published"``);
    raises ``AttributeError`` when there is no such event class."""
    return get_topic(getattr(aggregate, event_name))


async def aggregate_events(
    conn: Connection, batch: Batch, types: Iterable[str]
) -> list[tuple[str, Any]]:
    """The batch's events of the given topics as ``(topic, decoded event)``, in log order."""
    rows = await conn.fetch(
        """
        SELECT stream_id, stream_version, type, state FROM events
        WHERE position > $1 AND position <= $2 AND stream_version IS NOT NULL
          AND type = ANY($3::text[])
        ORDER BY position
        """,
        batch.after,
        batch.upto,
        list(types),
    )
    mapper = shared_mapper()
    return [
        (
            r["type"],
            mapper.to_domain_event(
                StoredEvent(
                    originator_id=r["stream_id"],
                    originator_version=r["stream_version"],
                    topic=r["type"],
                    state=r["state"],
                )
            ),
        )
        for r in rows
    ]
