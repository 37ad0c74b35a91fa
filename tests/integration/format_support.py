"""Engagement facts of every shape the ingest writes (docs/log-format.md), and writing
them as the log did before migration 7 (format 1, JSON) for mixed-format logs."""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from analytics_graph.eventstore import BulkResult, EventStore, NewEvent
from analytics_graph.eventstore import store as store_module
from analytics_graph.eventstore.formats import FactRow, as_new_event

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WATCHED = [30.0, 12.345, 1e-07, 123456789.12345679, 0.0, 7.5, 1e9, 0.1, 59.999999]
TEXTS = ["a", 'he said "hi" \\ ✓', "ünïcode\ttab", "x" * 256, "emoji 😀", "1e5"]
VIDEO_TYPES = ["view", "like", "unlike", "comment", "share", "favorite"]
ACCOUNT_TYPES = ["profileView", "follow", "unfollow"]
SOURCES = ["FOR_YOU", "FOLLOWING", "PERSONAL_PROFILE", "SOUND", "SEARCH", "HASHTAG", "OTHER"]
USER_KEYS = {"view": "viewerId", "profileView": "viewerId", "follow": "followerId",
             "unfollow": "followerId"}  # fmt: skip


def _attributes(rng: random.Random) -> dict[str, str]:
    out = {}
    if rng.random() < 0.6:
        out["country"] = rng.choice(["DE", "US", "BR"])
    if rng.random() < 0.6:
        out["gender"] = rng.choice(["FEMALE", "MALE", "OTHER", "UNKNOWN"])
    if rng.random() < 0.6:
        out["ageRange"] = rng.choice(["AGE_18_24", "AGE_55_PLUS", "UNKNOWN"])
    return out or {"country": "FR"}


def _moment(rng: random.Random) -> datetime:
    moment = START + timedelta(seconds=rng.randrange(10**8))
    if rng.random() < 0.7:
        moment += timedelta(microseconds=rng.randrange(1, 10**6))
    return moment


def _view_fields(rng: random.Random, data: dict[str, Any]) -> None:
    data["watchedSeconds"] = rng.choice([*WATCHED, rng.random() * 100, float(rng.randrange(60))])
    data["completed"] = rng.random() < 0.5
    data["source"] = rng.choice(SOURCES)
    if data["source"] == "SEARCH" and rng.random() < 0.7:
        data["searchTerm"] = rng.choice(TEXTS)
    if rng.random() < 0.5:
        data["viewer"] = _attributes(rng)


def fact(rng: random.Random) -> NewEvent:
    """One engagement fact as ``ingest/normalise.py`` makes it (``data`` a dict)."""
    kind = rng.choice(VIDEO_TYPES + ACCOUNT_TYPES)
    event_id, moment = uuid.UUID(int=rng.getrandbits(128)), _moment(rng)
    account, video = str(uuid.UUID(int=rng.getrandbits(128))), str(uuid.uuid4())
    data: dict[str, Any] = {"eventId": str(event_id), "type": kind, "occurredAt": moment}
    if kind in VIDEO_TYPES:
        data |= {"videoId": video, "accountId": account}
    else:
        data["accountId"] = account
    data[USER_KEYS.get(kind, "userId")] = rng.choice(TEXTS)
    if kind == "view":
        _view_fields(rng, data)
    elif kind == "share" and rng.random() < 0.5:
        data["channel"] = rng.choice(TEXTS)
    elif kind == "follow":
        if rng.random() < 0.5:
            data["viaVideoId"] = str(uuid.uuid4())
        if rng.random() < 0.5:
            data["follower"] = _attributes(rng)
    stream = video if kind in VIDEO_TYPES else account
    return NewEvent(stream, kind, None, event_id, moment, data)


def facts(count: int, seed: int = 7) -> list[NewEvent]:
    rng = random.Random(seed)
    return [fact(rng) for _ in range(count)]


def json_text(event: NewEvent) -> str:
    """The JSON text format 1 stores for ``event`` (before PostgreSQL's jsonb_in)."""
    data = event.data
    return data if isinstance(data, str) else orjson.dumps(data).decode()


@contextlib.contextmanager
def format_1_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside the block, the store writes every event as JSON: the log before migration 7
    (the rows the ingest makes are appended as the events they stand for)."""

    async def append_rows(
        self: EventStore, rows: Sequence[FactRow], *, optimistic: bool = False
    ) -> BulkResult:
        return await self.append_bulk([as_new_event(r) for r in rows], optimistic=optimistic)

    with monkeypatch.context() as patch:
        patch.setattr(store_module, "compact", lambda event: None)
        patch.setattr(EventStore, "append_rows", append_rows)
        yield
