"""The rows the ingest validation makes directly (``ingest/normalise.py``) are the rows the
store makes of the payloads the ingest made before (``store._row``, which goes through
``formats.compact``, held to PostgreSQL's jsonb in tests/integration/test_log_formats.py);
``formats.expand`` gives the payload of such a row back."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from analytics_graph.eventstore.formats import as_new_event, expand
from analytics_graph.eventstore.store import _row
from analytics_graph.ingest import validation
from analytics_graph.ingest.facts import VideoFacts
from analytics_graph.ingest.normalise import BatchContext, to_row
from analytics_graph.ingest.rejections import Invalid
from analytics_graph.ingest.validation import Validator
from tests.integration.format_support import facts
from tests.unit.test_ingest_validation import (
    ACCOUNT,
    DELETED_VIDEO,
    EVENT_ID,
    PUBLISHED,
    VIDEO,
    event,
    validator,
    view,
)

OTHER_IDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(100)]

SHAPES: list[dict[str, Any]] = [
    view(),
    view(watchedSeconds=30, completed=None),
    view(watchedSeconds=0, completed=True, source="SEARCH", searchTerm='"cats" \\ ✓'),
    view(watchedSeconds=12.345678901, occurredAt="2025-05-20T12:00:00.123456+02:00"),
    view(watchedSeconds=1e-7, viewer={"country": "de", "gender": "FEMALE", "ageRange": "UNKNOWN"}),
    view(viewer={"gender": "MALE"}, occurredAt="2025-05-20T10:00:00.5-03:30"),
    view(videoId=VIDEO.upper(), eventId=EVENT_ID.replace("-", "")),
    event("like", videoId=VIDEO, userId="u"),
    event("unlike", videoId=VIDEO, userId="u"),
    event("favorite", videoId=VIDEO, userId="u"),
    event("comment", videoId=VIDEO, userId="u"),
    event("share", videoId=VIDEO, userId="u", channel="sms"),
    event("share", videoId=VIDEO, userId="u"),
    event("profileView", accountId=ACCOUNT.upper(), viewerId="v"),
    event("follow", accountId=ACCOUNT, followerId="f"),
    event("follow", accountId=ACCOUNT, followerId="f", viaVideoId=VIDEO,
          follower={"country": "BR"}),
    event("unfollow", accountId=ACCOUNT, followerId="f"),
    # What the columns cannot give back: the payload stays JSON (format 1).
    view(watchedSeconds=-0.0),
    view(viewer={}),
    view(viewer={"country": None}),
    view(watchedSeconds=-0.0, viewer={}),
    event("follow", accountId=ACCOUNT, followerId="f", follower={}),
]  # fmt: skip


async def test_the_rows_are_those_the_store_makes_of_the_payloads() -> None:
    shapes = [{**shape, "eventId": OTHER_IDS[i]} for i, shape in enumerate(SHAPES)]
    result = await validator().events(shapes)
    assert result.rejections == []
    assert len(result.rows) == len(SHAPES)
    assert result.rows == [_row(e) for e in result.events]
    formats = [row[7] for row in result.rows]
    assert formats == [2] * (len(SHAPES) - 5) + [None] * 5


@pytest.mark.parametrize(
    ("changes", "kept"),
    [
        ({"watchedSeconds": -0.0}, {"watchedSeconds": -0.0}),
        ({"viewer": {}}, {"viewer": {}}),
        ({"viewer": {"country": None, "gender": None}}, {"viewer": {}}),
    ],
)
async def test_a_payload_the_columns_cannot_hold_is_stored_as_json(
    changes: dict[str, Any], kept: dict[str, Any]
) -> None:
    result = await validator().events([view(**changes)])
    (row,) = result.rows
    assert row[7] is None and all(value is None for value in row[8:])
    data = orjson.loads(row[5])
    assert data == {
        "eventId": EVENT_ID, "type": "view", "occurredAt": "2025-05-20T10:00:00+00:00",
        "videoId": VIDEO, "accountId": ACCOUNT, "viewerId": "user-1", "watchedSeconds": 12.5,
        "completed": False, "source": "FOR_YOU", **kept,
    }  # fmt: skip
    assert str(data["watchedSeconds"]) == str(kept.get("watchedSeconds", 12.5))


def test_expand_gives_back_the_payload_of_every_shape_the_ingest_writes() -> None:
    for fact in facts(2_000, seed=5):
        row = _row(fact)
        assert row[7] == 2
        assert orjson.loads(orjson.dumps(expand(row))) == orjson.loads(orjson.dumps(fact.data))
        assert _row(as_new_event(row)) == row


async def test_zero_seconds_known_does_not_stand_for_minus_zero() -> None:
    zero, minus = view(watchedSeconds=0.0), view(watchedSeconds=-0.0, eventId=OTHER_IDS[0])
    result = await validator().events([zero, minus, zero])
    assert [row[7] for row in result.rows] == [2, None, 2]
    assert str(result.rows[0][10]) == "0.0"


LONG_VIDEO = "6a1d8f3c-2b4e-4f6a-8c9d-0e1f2a3b4c10"
# Views and other events on a video that the one-step path of ``normalise.to_rows``
# takes, and those it must leave to ``to_row`` (a check refuses them, or their row is
# format 1), mixed in one batch.
MIXED: list[dict[str, Any]] = [
    *SHAPES,
    view(occurredAt="2025-04-30T23:59:59.999999Z"),  # before the publication
    view(occurredAt="2025-05-01T00:00:00Z"),  # at it
    view(occurredAt="2030-01-01T00:00:00Z"),  # in the future
    view(occurredAt="2025-05-01T02:00:00+02:00"),  # at it, written in another offset
    view(watchedSeconds=300.0),  # the loop limit (10 x 30 s)
    view(watchedSeconds=300.5, videoId=LONG_VIDEO),  # within a longer video's
    view(watchedSeconds=300.5),  # beyond it (a watch time seen before)
    view(watchedSeconds=30.0, completed=None),  # completed from the length
    view(watchedSeconds=29.9, completed=None),
    view(watchedSeconds=0.0),
    view(searchTerm="x"),  # without SEARCH
    view(source="SEARCH", searchTerm="x"),
    view(viewer={"country": "us"}),
    view(viewer={}),
    view(eventId="not-a-uuid"),
    view(videoId=DELETED_VIDEO),
    view(videoId="6a1d8f3c-2b4e-4f6a-8c9d-0e1f2a3b4c99"),  # unknown
    view(videoId=VIDEO.upper()),  # another spelling of a video already seen
    event("like", videoId=VIDEO, userId="u", occurredAt="2031-01-01T00:00:00Z"),
    event("share", videoId=VIDEO, userId="u", channel="c", eventId="nope"),
    event("comment", videoId=DELETED_VIDEO, userId="u"),
    # Events on an account (found in the batch by its first event, as sent).
    event("profileView", accountId=ACCOUNT.upper(), viewerId="v2"),
    event("profileView", accountId=ACCOUNT, viewerId="v", occurredAt="2031-01-01T00:00:00Z"),
    event("profileView", accountId="6a1d8f3c-2b4e-4f6a-8c9d-0e1f2a3b4c98", viewerId="v"),
    event("unfollow", accountId=ACCOUNT, followerId="f", eventId="nope"),
    event("unfollow", accountId=ACCOUNT, followerId="f", occurredAt="2025-05-20T12:00:00+09:00"),
    event("follow", accountId=ACCOUNT, followerId="f", follower={"gender": "MALE"}),
    event("follow", accountId=ACCOUNT, followerId="f", follower={"country": None}),
    event("follow", accountId=ACCOUNT, followerId="f", viaVideoId=DELETED_VIDEO),
    event("follow", accountId=ACCOUNT, followerId="f", eventId="nope"),
]


def checker(max_batch: int = 100) -> Validator:
    """:func:`validator`, with a video of 100 s as well."""
    check = validator(max_batch)
    check.facts.add_video(VideoFacts(LONG_VIDEO, ACCOUNT, 100.0, PUBLISHED, False, 1))
    return check


def through_to_row(
    events: list[Any], indices: list[int], ctx: BatchContext, rows: list[Any], rejections: list[Any]
) -> None:
    """``to_rows`` without its one-step path: every event through ``to_row``."""
    for index, one in zip(indices, events, strict=True):
        try:
            rows.append(to_row(one, ctx))
        except Invalid as exc:
            rejections.append(exc.at(index))


async def test_the_one_step_rows_and_rejections_are_to_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each event of a batch gets from ``to_rows`` the row or the rejection ``to_row``
    gives it, alone (in a batch of its own) and in the batch."""
    batch = [
        {**shape, "eventId": OTHER_IDS[i % 100]} if shape["eventId"] == EVENT_ID else shape
        for i, shape in enumerate(MIXED * 3)
    ]
    together = await checker(max_batch=1_000).events(batch)
    alone_rows: list[Any] = []
    alone_reasons: list[Any] = []
    for index, shape in enumerate(batch):
        alone = await checker().events([shape])
        alone_rows += alone.rows
        alone_reasons += [(index, r.field, r.reason) for r in alone.rejections]
    monkeypatch.setattr(validation, "to_rows", through_to_row)
    reference = await checker(max_batch=1_000).events(batch)
    reasons = [(r.index, r.field, r.reason) for r in reference.rejections]
    assert together.rows == alone_rows == reference.rows
    assert [(r.index, r.field, r.reason) for r in together.rejections] == reasons
    assert alone_reasons == reasons
    assert len(reference.rows) > 2 * len(SHAPES) and len(reasons) > 20
