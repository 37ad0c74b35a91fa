"""The simulated world: determinism, and events that keep the ingest rules."""

from __future__ import annotations

import io
import random
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from uuid import UUID

import orjson

from analytics_graph.ingest.ndjson import read_batches
from analytics_graph.ingest.vocabulary import MAX_LINE_BYTES
from analytics_graph.simulation import (
    SimulationConfig,
    aggregate_events,
    deletion_events,
    generate_world,
    write_ndjson,
)
from analytics_graph.simulation.stream import uuid4_text

CONFIG = SimulationConfig(seed=11, accounts=8, events=20_000, weeks=3, deleted_ratio=0.3)


def test_same_seed_same_world_and_events() -> None:
    first, second = generate_world(CONFIG), generate_world(CONFIG)
    assert first.accounts == second.accounts and first.videos == second.videos
    assert list(first.events()) == list(second.events())
    other = generate_world(SimulationConfig(seed=12, accounts=8, events=100, weeks=3))
    assert [a.id for a in other.accounts] != [a.id for a in first.accounts]


def test_events_keep_the_ingest_rules() -> None:
    world = generate_world(CONFIG)
    videos = {str(v.id): v for v in world.videos}
    accounts = {str(a.id) for a in world.accounts}
    events = list(world.events())
    assert len(events) == CONFIG.events
    for event in events:
        moment = datetime.fromisoformat(event["occurredAt"])
        assert moment.utcoffset() is not None and moment <= CONFIG.end
        UUID(event["eventId"])
        if "videoId" in event:
            video = videos[event["videoId"]]
            assert video.published_at <= moment
            assert video.deleted_at is None or moment < video.deleted_at
            if event["type"] == "view":
                assert 0 <= event["watchedSeconds"] <= 10 * video.duration_seconds
                assert "searchTerm" not in event or event["source"] == "SEARCH"
        else:
            assert event["accountId"] in accounts
        if "viaVideoId" in event:
            assert str(videos[event["viaVideoId"]].account_id) == event["accountId"]


def test_the_world_has_the_promised_variety() -> None:
    world = generate_world(CONFIG)
    events = list(world.events())
    kinds = Counter(e["type"] for e in events)
    assert set(kinds) == {
        "view", "like", "unlike", "comment", "share", "favorite", "profileView", "follow",
        "unfollow",
    }  # fmt: skip
    assert kinds["view"] > 0.7 * len(events)
    ids = Counter(e["eventId"] for e in events)
    resent = sum(n - 1 for n in ids.values())
    assert 0.005 * len(events) < resent < 0.02 * len(events)
    views = [e for e in events if e["type"] == "view"]
    assert any("viewer" not in e for e in views) and any("viewer" in e for e in views)
    assert any("searchTerm" in e for e in views) and any("completed" in e for e in views)
    assert any("viaVideoId" in e for e in events) and any("follower" in e for e in events)
    assert any(not e["occurredAt"].endswith("Z") for e in events)
    assert any(v.deleted_at for v in world.videos) and any(a.is_pro for a in world.accounts)
    late = [e for before, e in pairwise(events) if _at(e) < _at(before) - timedelta(days=1)]
    assert late
    per_video = Counter(e["videoId"] for e in views)
    counts = sorted(per_video.values(), reverse=True)
    assert counts[0] > 10 * counts[len(counts) // 2]  # a few videos take most views


def _at(event: dict[str, str]) -> datetime:
    return datetime.fromisoformat(event["occurredAt"])


def test_aggregate_rows_register_publish_and_delete() -> None:
    world = generate_world(CONFIG)
    rows = aggregate_events(world)
    published = [r for r in rows if r.type.endswith(":Video.Published")]
    assert len(published) == len(world.videos)
    assert {r.stream_id for r in published} == {str(v.id) for v in world.videos}
    registered = [r for r in rows if r.type.endswith(":Account.Registered")]
    assert len(registered) == len(world.accounts)
    deleted = deletion_events(world)
    assert {r.stream_id for r in deleted} == {str(v.id) for v in world.videos if v.deleted_at}
    assert {r.stream_version for r in deleted} == {2}


def test_uuid_text_is_the_canonical_version_4_form() -> None:
    rng = random.Random(3)
    for _ in range(1000):
        bits = rng.getrandbits(128)
        assert uuid4_text(bits) == str(UUID(int=bits, version=4))


def test_ndjson_round_trip_in_batches() -> None:
    world = generate_world(SimulationConfig(seed=2, accounts=3, events=2_500, weeks=1))
    buffer = io.BytesIO()
    assert write_ndjson(world.events(), buffer) == 2_500
    buffer.seek(0)
    batches = list(read_batches(buffer, 1_000))
    assert [(b.first_line, b.last_line) for b in batches] == [(1, 1000), (1001, 2000), (2001, 2500)]
    assert sum(b.nbytes for b in batches) == len(buffer.getvalue())
    decoded = [orjson.loads(line) for b in batches for line in b.lines]
    assert decoded == list(world.events())


def test_an_overlong_line_is_cut_and_the_next_line_kept() -> None:
    text = b'{"x": "' + b"y" * (3 * MAX_LINE_BYTES) + b'"}\n{"next": 1}\n'
    (batch,) = read_batches(io.BytesIO(text), 10)
    assert len(batch.lines) == 2
    assert len(batch.lines[0]) == MAX_LINE_BYTES + 1
    assert batch.lines[1] == b'{"next": 1}\n'
    assert batch.nbytes == len(text)
