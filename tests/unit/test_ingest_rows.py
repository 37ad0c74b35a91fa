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
from tests.integration.format_support import facts
from tests.unit.test_ingest_validation import (
    ACCOUNT,
    EVENT_ID,
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
