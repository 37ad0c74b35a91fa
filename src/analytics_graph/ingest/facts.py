"""What ingest needs to know about accounts and videos, read from the log itself.

The facts come from the aggregate streams (``Account.Registered``,
``Video.Published``, ``Video.Deleted``; see docs/log-format.md). A
:class:`FactsCache` keeps what never changes (an account exists; a video's
owner, length and publication time; a deletion is final) and, for every batch,
asks PostgreSQL in one query for the events written since to the streams that
batch refers to: a deletion committed before the batch is validated is seen;
unknown ids are looked up again each time (they may have been created since).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg

from analytics_graph.domain.aggregates import Account, Video
from analytics_graph.eventstore.codec import decode_event, default_mapper
from analytics_graph.eventstore.records import RecordedEvent
from analytics_graph.eventstore.store import translated_errors

# Every aggregate event after a known version of the given streams, in order: one
# index range scan per stream. Written as LATERAL so that the plan does not depend
# on statistics (a table filling up by bulk loads is rarely analysed yet), and run
# without JIT: with such estimates PostgreSQL compiled this query for every batch,
# which cost it more CPU than the COPY of the batch.
NEWER_EVENTS_SQL: Final = """
SELECT e.position, e.stream_id, e.stream_version, e.type, e.event_id, e.occurred_at,
       e.recorded_at, e.data, e.state
FROM unnest($1::text[], $2::bigint[]) AS k(stream_id, known)
CROSS JOIN LATERAL (
    SELECT * FROM events
    WHERE stream_id = k.stream_id AND stream_version > k.known AND stream_version IS NOT NULL
    ORDER BY stream_version
) e
"""
MAX_CACHED: Final = 1_000_000
ACCOUNT_TOPIC_PREFIX: Final = f"{Account.__module__}:Account."
VIDEO_PUBLISHED: Final = f"{Video.__module__}:Video.Published"
VIDEO_DELETED: Final = f"{Video.__module__}:Video.Deleted"


@dataclass(frozen=True, slots=True)
class VideoFacts:
    """A published video as ingest sees it; ids are canonical UUID text."""

    id: str
    account_id: str
    duration_seconds: float
    published_at: datetime
    deleted: bool
    version: int


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _fetch_without_jit(
    pool: asyncpg.Pool, ids: list[str], known: list[int], acquire_timeout: float | None
) -> list[asyncpg.Record]:
    async with pool.acquire(timeout=acquire_timeout) as conn, conn.transaction():
        await conn.execute("SET LOCAL jit = off")
        return list(await conn.fetch(NEWER_EVENTS_SQL, ids, known))


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(**dict(row.items()))


class FactsCache:
    """Account and video facts by canonical id; refresh before each batch.

    Safe to share between tasks of one event loop: each refresh applies only
    versions newer than those it holds.
    """

    def __init__(self) -> None:
        self._accounts: dict[str, int] = {}
        self._videos: dict[str, VideoFacts] = {}
        self._mapper = default_mapper()

    def add_account(self, account_id: str, version: int = 1) -> None:
        """Records that an account exists (facts known otherwise, e.g. in tests)."""
        self._accounts[account_id] = max(version, self._accounts.get(account_id, 0))

    def add_video(self, video: VideoFacts) -> None:
        """Records a video's facts; a newer refresh still overrides a live one."""
        self._videos[video.id] = video

    def account_exists(self, account_id: str) -> bool:
        return account_id in self._accounts

    def video(self, video_id: str) -> VideoFacts | None:
        return self._videos.get(video_id)

    async def refresh(
        self, pool: asyncpg.Pool, stream_ids: Iterable[str], *, acquire_timeout: float | None = None
    ) -> None:
        """Brings the facts of ``stream_ids`` (accounts and videos) up to date, in one query.

        Raises :class:`~analytics_graph.errors.StoreError` when the database fails
        (or no connection is free within ``acquire_timeout`` seconds).
        """
        ids: list[str] = []
        known: list[int] = []
        for stream_id in stream_ids:
            if stream_id in self._accounts:
                continue  # nothing about an account matters to ingest once it exists
            video = self._videos.get(stream_id)
            if video is not None and video.deleted:
                continue  # final
            ids.append(stream_id)
            known.append(0 if video is None else video.version)
        if not ids:
            return
        async with translated_errors():
            rows = await _fetch_without_jit(pool, ids, known, acquire_timeout)
        if len(self._videos) + len(self._accounts) + len(rows) > MAX_CACHED:
            self._videos.clear()
            self._accounts.clear()
        for row in rows:
            self._apply(_recorded(row))

    def _apply(self, recorded: RecordedEvent) -> None:
        version = recorded.stream_version or 0
        current = self._videos.get(recorded.stream_id)
        if recorded.type.startswith(ACCOUNT_TOPIC_PREFIX):
            self._accounts[recorded.stream_id] = version
        elif recorded.type == VIDEO_PUBLISHED and current is None:
            self._videos[recorded.stream_id] = self._published(recorded)
        elif current is not None and version > current.version:
            deleted = current.deleted or recorded.type == VIDEO_DELETED
            self._videos[recorded.stream_id] = replace(current, deleted=deleted, version=version)

    def _published(self, recorded: RecordedEvent) -> VideoFacts:
        event: Any = decode_event(recorded, self._mapper)
        return VideoFacts(
            id=recorded.stream_id,
            account_id=str(event.account_id),
            duration_seconds=float(event.duration_seconds),
            published_at=_aware(event.published_at),
            deleted=False,
            version=recorded.stream_version or 0,
        )
