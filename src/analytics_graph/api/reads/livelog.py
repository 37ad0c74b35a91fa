"""Following the log: catch up page by page, then tail it as it grows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from analytics_graph.api.services import Services
from analytics_graph.eventstore import LogCursor
from analytics_graph.eventstore.records import RecordedEvent
from analytics_graph.replication.log import read_log

PAGE = 1_000
HOLE_RETRY_SECONDS = 0.005


async def follow_log(
    services: Services, after: int, types: Sequence[str] | None
) -> AsyncIterator[RecordedEvent]:
    """Every event after ``after`` (of ``types``, if given) in log order, forever.

    Catch-up reads final positions only (``read_log``: from a replica as far as the
    primary has proven them final there, the rest from the primary); the tail moves a
    :class:`LogCursor` over final positions and waits on the store's wake-ups,
    so no event is ever skipped, however late it commits.
    """
    store, position = services.store, after
    while page := await read_log(services.reads, store, position, PAGE, types=types):
        for event in page:
            yield event
        position = page[-1].position
    cursor, wanted = LogCursor(position), set(types) if types else None
    while True:
        seen = services.listener.generation
        events = await store.read_next(cursor, PAGE)
        for event in events:
            if wanted is None or event.type in wanted:
                yield event
        if not events:
            await services.listener.wait(seen, HOLE_RETRY_SECONDS if cursor.blocked else None)
