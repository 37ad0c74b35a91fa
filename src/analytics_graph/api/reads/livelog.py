"""Following the log: catch up page by page, then tail it as it grows; resume
after a database outage from the last event delivered."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence

from analytics_graph.api.errors import ClientError
from analytics_graph.api.services import Services
from analytics_graph.database import is_unavailable
from analytics_graph.eventstore import LogCursor
from analytics_graph.eventstore.records import RecordedEvent
from analytics_graph.replication.log import read_log

PAGE = 1_000
HOLE_RETRY_SECONDS = 0.005
RESUME_RETRY_SECONDS = 0.5
RESUME_WITHIN_SECONDS = 60.0
"""How long an outage the log's followers wait out before they end with an error."""
log = logging.getLogger(__name__)


class LogInterrupted(ClientError):
    """The database stayed unavailable too long; subscribe again with ``after``."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(self, position: int) -> None:
        super().__init__(
            f"the database is unavailable; the log was delivered up to position {position}:"
            f" subscribe again with after: {position}",
            retryable=True,
            after=position,
        )


async def follow_log(
    services: Services,
    after: int,
    types: Sequence[str] | None,
    *,
    resume_within: float = RESUME_WITHIN_SECONDS,
) -> AsyncIterator[RecordedEvent]:
    """Every event after ``after`` (of ``types``, if given) in log order, forever.

    When the database becomes unavailable (a restart), follows again from the
    last event delivered, once it answers: nothing skipped, nothing twice (the
    positions delivered are final). An outage longer than ``resume_within``
    seconds ends it with :class:`LogInterrupted`, naming that position."""
    position, down_since, read_at = after, 0.0, [0.0]
    while True:
        try:
            async for event in _follow(services, position, types, read_at):
                position = event.position
                yield event
        except Exception as error:
            if not is_unavailable(error):
                raise
            now = time.monotonic()
            if read_at[0] >= down_since:  # it read since the last failure: a new outage
                down_since = now
            if now - down_since > resume_within:
                raise LogInterrupted(position) from error
            log.warning("event log follower: database unavailable, retrying: %r", error)
            await asyncio.sleep(RESUME_RETRY_SECONDS)


async def _follow(
    services: Services, after: int, types: Sequence[str] | None, read_at: list[float]
) -> AsyncIterator[RecordedEvent]:
    """Catch-up reads final positions only (``read_log``: from a replica as far as the
    primary has proven them final there, the rest from the primary); the tail moves a
    :class:`LogCursor` over final positions and waits on the store's wake-ups,
    so no event is ever skipped, however late it commits. ``read_at[0]``: when a
    read last succeeded."""
    store, position = services.store, after
    while page := await read_log(services.reads, store, position, PAGE, types=types):
        read_at[0] = time.monotonic()
        for event in page:
            yield event
        position = page[-1].position
    cursor, wanted = LogCursor(position), set(types) if types else None
    while True:
        seen = services.listener.generation
        events = await store.read_next(cursor, PAGE)
        read_at[0] = time.monotonic()
        for event in events:
            if wanted is None or event.type in wanted:
                yield event
        if not events:
            await services.listener.wait(seen, HOLE_RETRY_SECONDS if cursor.blocked else None)
