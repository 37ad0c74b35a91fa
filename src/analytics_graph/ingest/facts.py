"""What ingest needs to know about accounts and videos, read from the log itself.

The facts come from the aggregate streams (``Account.Registered``,
``Video.Published``, ``Video.Deleted``; see docs/log-format.md). A
:class:`FactsCache` keeps what never changes (an account exists; a video's
owner, length and publication time; a deletion is final) and, for every batch,
asks the store in one query for the events written since to the streams that
batch refers to: a deletion committed before the batch is validated is seen;
unknown ids are looked up again each time (they may have been created since).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from analytics_graph.domain.aggregates import Account, Video
from analytics_graph.eventstore.codec import decode_event, shared_mapper
from analytics_graph.eventstore.records import RecordedEvent
from analytics_graph.eventstore.store import EventStore

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


class FactsCache:
    """Account and video facts by canonical id; refresh before each batch.

    Safe to share between tasks of one event loop: each refresh applies only
    versions newer than those it holds.
    """

    def __init__(self) -> None:
        self._accounts: dict[str, int] = {}
        self._videos: dict[str, VideoFacts] = {}
        self._mapper = shared_mapper()

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

    async def refresh(self, store: EventStore, stream_ids: Iterable[str]) -> None:
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
        events = await store.read_streams_after(ids, known)
        if len(self._videos) + len(self._accounts) + len(events) > MAX_CACHED:
            self._videos.clear()
            self._accounts.clear()
        for recorded in events:
            self._apply(recorded)

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
