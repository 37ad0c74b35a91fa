"""Ingest against a real PostgreSQL: facts from the log, idempotency, all-or-nothing batches."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
import pytest

from analytics_graph.domain.aggregates import Account, Video
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.codec import encode_events
from analytics_graph.eventstore.formats import payload_text
from analytics_graph.ingest import Ingestor
from analytics_graph.simulation import SimulationConfig, generate_world, load_world

PUBLISHED = datetime(2025, 5, 1, tzinfo=UTC)


async def new_account(store: EventStore) -> Account:
    account = Account(handle=f"h{uuid4().hex[:8]}", display_name="Someone")
    await store.append(encode_events(account.collect_events()))
    return account


async def new_video(store: EventStore, account: Account, duration: float = 20.0) -> Video:
    video = Video(account.id, "a caption", duration, PUBLISHED)
    await store.append(encode_events(video.collect_events()))
    return video


async def delete(store: EventStore, video: Video) -> None:
    video.delete()
    await store.append(encode_events(video.collect_events()))


def like(video: Video | UUID, event_id: UUID | None = None) -> dict[str, Any]:
    return {
        "eventId": str(event_id or uuid4()),
        "type": "like",
        "occurredAt": "2025-05-02T08:00:00Z",
        "videoId": str(video.id if isinstance(video, Video) else video),
        "userId": "user-1",
    }


async def engagement_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE event_id IS NOT NULL"))


async def test_a_simulated_world_is_stored_once_per_event_id(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    world = generate_world(SimulationConfig(seed=4, accounts=6, events=6_000, weeks=2))
    events = list(world.events())
    first_of: dict[str, dict[str, Any]] = {}
    for event in events:
        first_of.setdefault(event["eventId"], event)
    report = await load_world(world, store, batch_size=1_000)
    assert (report.events, report.accepted) == (6_000, len(first_of))
    assert report.duplicates == 6_000 - len(first_of)
    rows = await pool.fetch(
        f"SELECT type, stream_id, event_id, occurred_at, {payload_text()} AS data FROM events"
        " WHERE event_id IS NOT NULL ORDER BY position"
    )
    assert Counter(r["type"] for r in rows) == Counter(e["type"] for e in first_of.values())
    assert [str(r["event_id"]) for r in rows] == list(first_of)  # log order = arrival order
    owner = {str(v.id): str(v.account_id) for v in world.videos}
    length = {str(v.id): v.duration_seconds for v in world.videos}
    for row in rows:
        sent = first_of[str(row["event_id"])]
        assert row["occurred_at"] == datetime.fromisoformat(sent["occurredAt"])
        stored = asyncpg_json(row["data"])
        if "videoId" in sent:
            assert row["stream_id"] == sent["videoId"] == stored["videoId"]
            assert stored["accountId"] == owner[sent["videoId"]]
        else:
            assert row["stream_id"] == sent["accountId"]
        if sent["type"] == "view":
            expected = sent.get("completed", sent["watchedSeconds"] >= length[sent["videoId"]])
            assert stored["completed"] is expected


def asyncpg_json(text: str) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(text)
    return value


@pytest.mark.parametrize("remember", [0, 1_000])
async def test_resending_counts_duplicates_and_stores_nothing_twice(
    store: EventStore, pool: asyncpg.Pool, remember: int
) -> None:
    video = await new_video(store, await new_account(store))
    ingestor = Ingestor(store, remember=remember)
    batch = [like(video) for _ in range(5)]
    first = await ingestor.ingest_events([*batch, batch[0], batch[3]])
    assert (first.accepted, first.duplicates, first.rejections) == (5, 2, ())
    again = await ingestor.ingest_events(batch)
    assert (again.accepted, again.duplicates) == (0, 5)
    elsewhere = await Ingestor(store, remember=remember).ingest_events([like(video), *batch])
    assert (elsewhere.accepted, elsewhere.duplicates) == (1, 5)
    assert await engagement_count(pool) == 6


async def test_an_optimistic_append_that_collides_falls_back_to_the_check(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    video = await new_video(store, await new_account(store))
    stored = [like(video) for _ in range(3)]
    assert (await Ingestor(store, remember=0).ingest_events(stored)).accepted == 3
    rows = (await Ingestor(store).validator.events([like(video), *stored, like(video)])).events
    result = await store.append_bulk(rows, optimistic=True)
    assert (result.accepted, result.duplicates) == (2, 3)
    assert await engagement_count(pool) == 5


async def test_concurrent_overlapping_batches_count_each_id_once(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    video = await new_video(store, await new_account(store))
    events = [like(video) for _ in range(1_200)]

    async def writer(offset: int) -> tuple[int, int]:
        ingestor = Ingestor(store)  # its own caches, as in another process
        accepted = duplicates = 0
        part = events[offset : offset + 600]
        for start in range(0, len(part), 50):
            outcome = await ingestor.ingest_events(part[start : start + 50])
            accepted, duplicates = accepted + outcome.accepted, duplicates + outcome.duplicates
        return accepted, duplicates

    results = await asyncio.gather(*(writer(offset) for offset in (0, 200, 400, 600, 0, 300)))
    assert sum(a for a, _ in results) == 1_200
    assert sum(a + d for a, d in results) == 6 * 600
    assert await engagement_count(pool) == 1_200


async def test_a_batch_with_an_invalid_event_writes_nothing(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    video = await new_video(store, await new_account(store))
    before = await pool.fetchval("SELECT max(position) FROM events")
    batch = [like(video) for _ in range(10)]
    batch.insert(4, {**like(video), "occurredAt": "2025-05-02 08:00"})
    outcome = await Ingestor(store).ingest_events(batch)
    assert outcome.rejected_whole and outcome.not_written == 10
    assert [(r.index, r.field) for r in outcome.rejections] == [(4, "occurredAt")]
    assert await pool.fetchval("SELECT max(position) FROM events") == before
    assert await engagement_count(pool) == 0


async def test_skip_invalid_writes_the_valid_events_only(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    video = await new_video(store, await new_account(store))
    batch = [like(video), like(uuid4()), like(video)]
    outcome = await Ingestor(store).ingest_events(batch, skip_invalid=True)
    assert (outcome.accepted, outcome.duplicates) == (2, 0)
    assert [(r.index, r.field) for r in outcome.rejections] == [(1, "videoId")]
    stored = {str(r[0]) for r in await pool.fetch("SELECT event_id FROM events")}
    assert stored >= {batch[0]["eventId"], batch[2]["eventId"]}
    assert batch[1]["eventId"] not in stored
    nothing_valid = await Ingestor(store).ingest_events([like(uuid4())], skip_invalid=True)
    assert not nothing_valid.rejected_whole and nothing_valid.accepted == 0


async def test_a_deletion_is_seen_by_the_next_batch_despite_the_cache(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    account = await new_account(store)
    video = await new_video(store, account)
    ingestor = Ingestor(store)
    assert (await ingestor.ingest_events([like(video)])).accepted == 1
    await delete(store, video)
    outcome = await ingestor.ingest_events([like(video)])
    assert outcome.rejected_whole
    (rejection,) = outcome.rejections
    assert (rejection.field, rejection.reason) == ("videoId", f"video {video.id} was deleted")
    assert await engagement_count(pool) == 1


async def test_ids_unknown_at_first_are_looked_up_again(store: EventStore) -> None:
    account = await new_account(store)
    early = Video(account.id, "later", 15.0, PUBLISHED)
    ingestor = Ingestor(store)
    first = await ingestor.ingest_events([like(early)])
    assert [(r.field, r.reason) for r in first.rejections] == [
        ("videoId", f"unknown video {early.id}")
    ]
    await store.append(encode_events(early.collect_events()))
    assert (await ingestor.ingest_events([like(early)])).accepted == 1


async def test_facts_come_from_the_log_for_account_events(store: EventStore) -> None:
    account = await new_account(store)
    video = await new_video(store, account, duration=8.0)
    now = datetime.now(UTC)
    follow = {
        "eventId": str(uuid4()),
        "type": "follow",
        "occurredAt": (now - timedelta(hours=1)).isoformat(),
        "accountId": str(account.id),
        "followerId": "fan",
        "viaVideoId": str(video.id),
    }
    view = {
        "eventId": str(uuid4()),
        "type": "view",
        "occurredAt": "2025-05-01T00:00:00Z",
        "videoId": str(video.id),
        "viewerId": "fan",
        "watchedSeconds": 80.5,
        "source": "FOR_YOU",
    }
    stranger = {**follow, "eventId": str(uuid4()), "accountId": str(video.id)}
    outcome = await Ingestor(store).ingest_events([follow, view, stranger])
    assert [(r.index, r.field) for r in outcome.rejections] == [
        (1, "watchedSeconds"),  # 80.5 > 10 x 8 s
        (2, "accountId"),  # a video's id is no account
    ]


async def test_concurrent_writers_of_the_same_ids_in_opposite_orders(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """Each COPY waits on a key the other holds: PostgreSQL aborts one (a deadlock), which
    must be retried like any lost race, not surface as a failure."""
    video = await new_video(store, await new_account(store))
    total = 0
    for _ in range(3):
        events = [like(video) for _ in range(2_000)]
        outcomes = await asyncio.gather(
            Ingestor(store).ingest_events(events), Ingestor(store).ingest_events(events[::-1])
        )
        assert sum(o.accepted for o in outcomes) == 2_000
        assert sum(o.duplicates for o in outcomes) == 2_000
        total += 2_000
    assert await engagement_count(pool) == total
