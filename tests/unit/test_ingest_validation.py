"""Validation of engagement events, rule by rule, against facts held in memory.

The facts cache is filled by hand and the pool answers every query with no
rows, so nothing here needs PostgreSQL; expected rows are written out by hand
from docs/log-format.md.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import asyncpg
import orjson
import pytest

from analytics_graph.eventstore import EventStore
from analytics_graph.ingest import FactsCache, Rejection, Validator, VideoFacts

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "0f6c1f9e-8c1d-4c5e-9d39-4a3f1e2b7c01"
OTHER_ACCOUNT = "0f6c1f9e-8c1d-4c5e-9d39-4a3f1e2b7c02"
VIDEO = "6a1d8f3c-2b4e-4f6a-8c9d-0e1f2a3b4c01"
OTHER_VIDEO = "6a1d8f3c-2b4e-4f6a-8c9d-0e1f2a3b4c02"
DELETED_VIDEO = "6a1d8f3c-2b4e-4f6a-8c9d-0e1f2a3b4c03"
EVENT_ID = "9b2e7c4a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
PUBLISHED = datetime(2025, 5, 1, tzinfo=UTC)


class NoRows:
    """Stands in for the pool and its connections: the log adds nothing to the facts set
    up by hand."""

    @contextlib.asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[NoRows]:  # noqa: ASYNC109
        yield self

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield

    async def execute(self, *_: object) -> str:
        return ""

    async def fetch(self, *_: object) -> list[Any]:
        return []


def validator(max_batch: int = 100) -> Validator:
    facts = FactsCache()
    facts.add_account(ACCOUNT)
    facts.add_account(OTHER_ACCOUNT)
    for video_id, owner, deleted in (
        (VIDEO, ACCOUNT, False),
        (OTHER_VIDEO, OTHER_ACCOUNT, False),
        (DELETED_VIDEO, ACCOUNT, True),
    ):
        facts.add_video(VideoFacts(video_id, owner, 30.0, PUBLISHED, deleted, 2 if deleted else 1))
    store = EventStore(cast(asyncpg.Pool, NoRows()))
    return Validator(store, max_batch=max_batch, clock=lambda: NOW, facts=facts)


def view(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventId": EVENT_ID,
        "type": "view",
        "occurredAt": "2025-05-20T10:00:00Z",
        "videoId": VIDEO,
        "viewerId": "user-1",
        "watchedSeconds": 12.5,
        "source": "FOR_YOU",
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not ...}


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"eventId": EVENT_ID, "type": kind, "occurredAt": "2025-05-20T10:00:00Z", **fields}


async def only_rejection(raw: dict[str, Any] | bytes) -> Rejection:
    check = validator()
    if isinstance(raw, bytes):
        result = await check.lines([raw], first_line=7)
    else:
        result = await check.events([raw])
    assert result.events == []
    assert len(result.rejections) == 1, result.rejections
    return result.rejections[0]


async def only_data(raw: dict[str, Any]) -> dict[str, Any]:
    result = await validator().events([raw])
    assert result.rejections == []
    (row,) = result.events
    return cast(dict[str, Any], orjson.loads(row.data))


async def test_a_view_becomes_a_row_of_the_log_format() -> None:
    raw = view(
        occurredAt="2025-05-20T12:00:00.250+02:00",
        viewer={"country": "de", "gender": "FEMALE"},
        source="SEARCH",
        searchTerm="cats",
    )
    result = await validator().events([raw])
    assert result.rejections == []
    (row,) = result.events
    assert row.stream_id == VIDEO
    assert row.type == "view"
    assert row.stream_version is None
    assert row.event_id == UUID(EVENT_ID)
    assert row.occurred_at == datetime(2025, 5, 20, 10, 0, 0, 250_000, tzinfo=UTC)
    assert orjson.loads(row.data) == {
        "eventId": EVENT_ID,
        "type": "view",
        "occurredAt": "2025-05-20T10:00:00.250000+00:00",
        "videoId": VIDEO,
        "accountId": ACCOUNT,
        "viewerId": "user-1",
        "watchedSeconds": 12.5,
        "completed": False,
        "source": "SEARCH",
        "searchTerm": "cats",
        "viewer": {"country": "DE", "gender": "FEMALE"},
    }


@pytest.mark.parametrize(
    ("watched", "given", "expected"),
    [
        (29.9, None, False),
        (30, None, True),
        (75.0, None, True),
        (10.0, True, True),
        (40, False, False),
    ],
)
async def test_completed_is_explicit_or_derived_from_the_length(
    watched: float, given: bool | None, expected: bool
) -> None:
    data = await only_data(view(watchedSeconds=watched, completed=given))
    assert data["completed"] is expected
    assert data["watchedSeconds"] == watched


async def test_ids_are_canonicalised_and_user_ids_kept() -> None:
    raw = view(eventId=EVENT_ID.upper(), videoId=VIDEO.replace("-", "").upper(), viewerId=" U 1")
    data = await only_data(raw)
    assert (data["eventId"], data["videoId"], data["viewerId"]) == (EVENT_ID, VIDEO, " U 1")


@pytest.mark.parametrize("kind", ["like", "unlike", "favorite", "comment"])
async def test_user_events_on_videos(kind: str) -> None:
    data = await only_data(event(kind, videoId=VIDEO, userId="u-9"))
    assert data == {
        "eventId": EVENT_ID,
        "type": kind,
        "occurredAt": "2025-05-20T10:00:00+00:00",
        "videoId": VIDEO,
        "accountId": ACCOUNT,
        "userId": "u-9",
    }


async def test_share_keeps_its_channel_only_when_given() -> None:
    assert (await only_data(event("share", videoId=VIDEO, userId="u", channel="sms")))[
        "channel"
    ] == "sms"
    assert "channel" not in await only_data(event("share", videoId=VIDEO, userId="u"))


async def test_account_events() -> None:
    stamp = {"eventId": EVENT_ID, "occurredAt": "2025-05-20T10:00:00+00:00"}
    assert await only_data(event("profileView", accountId=ACCOUNT, viewerId="v")) == {
        **stamp, "type": "profileView", "accountId": ACCOUNT, "viewerId": "v",
    }  # fmt: skip
    follow = event(
        "follow",
        accountId=ACCOUNT,
        followerId="f",
        viaVideoId=VIDEO,
        follower={"ageRange": "UNKNOWN"},
    )
    assert await only_data(follow) == {
        **stamp, "type": "follow", "accountId": ACCOUNT, "followerId": "f",
        "viaVideoId": VIDEO, "follower": {"ageRange": "UNKNOWN"},
    }  # fmt: skip
    assert await only_data(event("unfollow", accountId=ACCOUNT, followerId="f")) == {
        **stamp, "type": "unfollow", "accountId": ACCOUNT, "followerId": "f",
    }  # fmt: skip


async def test_null_optional_fields_count_as_absent() -> None:
    data = await only_data(view(completed=None, searchTerm=None, viewer=None))
    assert set(data) == {
        "eventId", "type", "occurredAt", "videoId", "accountId", "viewerId",
        "watchedSeconds", "completed", "source",
    }  # fmt: skip


REJECTED: list[tuple[dict[str, Any], str | None, str]] = [
    (view(type="watch"), "type", "unknown event type"),
    (view(type=...), "type", "is required"),
    (view(extra=1), "extra", "is not a field"),
    (view(viewer={"city": "Paris"}), "viewer.city", "is not a field"),
    (view(viewerId=...), "viewerId", "is required"),
    (event("like", videoId=VIDEO), "userId", "is required"),
    (event("follow", followerId="f"), "accountId", "is required"),
    (view(watchedSeconds="12"), "watchedSeconds", "must be a number >= 0"),
    (view(watchedSeconds=True), "watchedSeconds", "must be a number >= 0"),
    (view(completed=1), "completed", "must be true or false"),
    (view(viewerId=5), "viewerId", "non-empty string"),
    (view(viewerId=""), "viewerId", "non-empty string"),
    (view(viewer="DE"), "viewer", "must be an object"),
    (view(eventId="not-a-uuid"), "eventId", "must be a UUID"),
    (view(videoId="12345"), "videoId", "must be a UUID"),
    (event("profileView", accountId="x", viewerId="v"), "accountId", "must be a UUID"),
    (
        event("follow", accountId=ACCOUNT, followerId="f", viaVideoId="nope"),
        "viaVideoId",
        "must be a UUID",
    ),
    (view(occurredAt="2025-05-20T10:00:00"), "occurredAt", "with an offset"),
    (view(occurredAt="2025-05-20"), "occurredAt", "RFC 3339"),
    (view(occurredAt="20 May 2025"), "occurredAt", "RFC 3339"),
    (view(occurredAt=1747735200), "occurredAt", "RFC 3339"),
    (view(videoId=OTHER_VIDEO.replace("c02", "c99")), "videoId", "unknown video"),
    (view(videoId=DELETED_VIDEO), "videoId", "was deleted"),
    (event("like", videoId=DELETED_VIDEO, userId="u"), "videoId", "was deleted"),
    (event("profileView", accountId=VIDEO, viewerId="v"), "accountId", "unknown account"),
    (view(occurredAt="2025-04-30T23:59:59Z"), "occurredAt", "before video"),
    (view(occurredAt="2025-06-01T12:05:01Z"), "occurredAt", "more than 5 minutes ahead"),
    (view(watchedSeconds=-0.5), "watchedSeconds", ">= 0"),
    (view(watchedSeconds=300.01), "watchedSeconds", "more than 10 times"),
    (view(source="TV"), "source", "must be one of FOR_YOU"),
    (view(viewer={"gender": "F"}), "viewer.gender", "must be one of FEMALE"),
    (view(viewer={"ageRange": "18-24"}), "viewer.ageRange", "must be one of AGE_18_24"),
    (view(viewer={"country": "DEU"}), "viewer.country", "ISO 3166-1 alpha-2"),
    (view(viewer={"country": "1A"}), "viewer.country", "ISO 3166-1 alpha-2"),
    (view(searchTerm="cats"), "searchTerm", "only allowed with source SEARCH"),
    (
        event("follow", accountId=ACCOUNT, followerId="f", viaVideoId=OTHER_VIDEO),
        "viaVideoId",
        "is not a video of account",
    ),
    (
        event("follow", accountId=ACCOUNT, followerId="f", viaVideoId=DELETED_VIDEO),
        "viaVideoId",
        "was deleted",
    ),
]


@pytest.mark.parametrize(("raw", "field", "reason"), REJECTED)
async def test_each_rule_names_the_field_and_the_reason(
    raw: dict[str, Any], field: str | None, reason: str
) -> None:
    rejection = await only_rejection(raw)
    assert rejection.index == 0
    assert rejection.field == field
    assert reason in rejection.reason


async def test_the_limits_themselves_are_accepted() -> None:
    assert (await only_data(view(watchedSeconds=300.0)))["watchedSeconds"] == 300.0
    assert (await only_data(view(watchedSeconds=0)))["completed"] is False
    assert await only_data(view(occurredAt="2025-06-01T12:05:00Z"))
    assert await only_data(view(occurredAt="2025-05-01T00:00:00Z"))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json}\n", "malformed JSON"),
        (b'{"eventId": "x",\n', "malformed JSON"),
        (b"[1, 2]\n", "must be a JSON object"),
        (b'"view"\n', "must be a JSON object"),
        (b"null\n", "must be a JSON object"),
        (b'{"a": "' + b"x" * 70_000 + b'"}\n', "longer than"),
    ],
)
async def test_lines_that_are_not_events(line: bytes, reason: str) -> None:
    rejection = await only_rejection(line)
    assert rejection.index == 7  # the line number
    assert rejection.field is None
    assert reason in rejection.reason


async def test_blank_lines_are_skipped_and_still_counted() -> None:
    good = orjson.dumps(view()) + b"\n"
    result = await validator().lines([b"\n", good, b"   \r\n", b"", b"{}\n"], first_line=1)
    assert len(result.events) == 1
    # the blank lines 1, 3 and 4 are neither events nor rejections; line 5 keeps its number
    assert [(r.index, r.field) for r in result.rejections] == [(5, "type")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"viewerId": "user\x00-1"}, "viewerId"),
        ({"searchTerm": "\x00", "source": "SEARCH"}, "searchTerm"),
        ({"viewer": {"country": "DE", "gender": "FEMALE\x00"}}, "viewer.gender"),
        ({"nested": {"deeper": ["ok", "bad\x00"]}}, "nested.deeper[1]"),
    ],
)
async def test_a_nul_character_in_any_string_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    line = orjson.dumps(view(**changes)) + b"\n"
    assert b"\\u0000" in line
    from_line = await only_rejection(line)
    assert (from_line.index, from_line.field) == (7, field)
    assert "NUL character" in from_line.reason
    from_event = await only_rejection(view(**changes))
    assert (from_event.index, from_event.field) == (0, field)
    assert "NUL character" in from_event.reason


async def test_an_escaped_backslash_before_u0000_is_ordinary_text() -> None:
    assert (await only_data(view(viewerId="user\\u0000")))["viewerId"] == "user\\u0000"


async def test_a_lone_surrogate_is_refused_naming_the_field() -> None:
    line = orjson.dumps(view()).replace(b'"user-1"', b'"user\\ud800-1"')
    from_line = await only_rejection(line)
    assert (from_line.index, from_line.field) == (7, "viewerId")
    assert "lone UTF-16 surrogate" in from_line.reason
    from_event = await only_rejection(view(viewer={"country": "\udfff"}))
    assert (from_event.index, from_event.field) == (0, "viewer.country")
    # a proper surrogate pair is a character like any other
    pair = orjson.dumps(view()).replace(b'"user-1"', b'"user\\ud83d\\ude00"')
    result = await validator().lines([pair])
    assert result.rejections == [] and len(result.events) == 1


async def test_a_byte_order_mark_starts_a_file_without_harm() -> None:
    from analytics_graph.ingest.ndjson import BOM, read_batches

    lines = [orjson.dumps(view(eventId=f"00000000-0000-4000-8000-00000000000{i}")) for i in (1, 2)]
    stream = io.BytesIO(BOM + b"\n".join(lines) + b"\n\n")
    (batch,) = read_batches(stream, 10)
    assert batch.nbytes == len(stream.getvalue())
    assert batch.lines[0] == lines[0] + b"\n"
    result = await validator().lines(batch.lines)
    assert result.rejections == [] and len(result.events) == 2
    # anywhere else a BOM is not whitespace: the line is malformed
    late = await only_rejection(BOM + lines[0])
    assert "malformed JSON" in late.reason


async def test_a_batch_reports_every_invalid_event_in_order_and_keeps_the_valid_ones() -> None:
    lines = [
        orjson.dumps(view(eventId=f"00000000-0000-4000-8000-00000000000{i}")) for i in range(5)
    ]
    lines[1] = b"{}"
    lines[3] = orjson.dumps(view(source="TV"))
    result = await validator().lines(lines, first_line=101)
    assert [(r.index, r.field) for r in result.rejections] == [(102, "type"), (104, "source")]
    assert [e.event_id for e in result.events] == [
        UUID(f"00000000-0000-4000-8000-00000000000{i}") for i in (0, 2, 4)
    ]
    assert result.size == 5 and not result.ok


async def test_lines_are_events_on_their_own_even_where_joined_they_would_parse() -> None:
    # A batch of ordinary lines is decoded as one JSON array (the lines joined with
    # "\n,"); these lines would make other events that way, and must not.
    def ids(i: int) -> str:
        return f"00000000-0000-4000-8000-00000000000{i}"

    whole = orjson.dumps(view(eventId=ids(2), viewer={"country": "DE", "gender": "FEMALE"}))
    head, _, tail = whole.partition(b',"gender"')
    lines = [
        orjson.dumps(view(eventId=ids(1))),
        head,  # an object cut after a member ...
        b'{"gender"' + tail,  # ... and the rest, itself starting like an object
        orjson.dumps(view(eventId=ids(3))) + b", " + orjson.dumps(view(eventId=ids(4))),
        orjson.dumps(view(eventId=ids(5))) + b"\n",
    ]
    assert all(line.startswith(b"{") for line in lines)
    result = await validator().lines(lines, first_line=1)
    assert [r.index for r in result.rejections] == [2, 3, 4]
    assert "malformed JSON" in result.rejections[0].reason  # ends inside the object
    assert "malformed JSON" in result.rejections[2].reason  # two values on one line
    assert [e.event_id for e in result.events] == [UUID(ids(1)), UUID(ids(5))]
    # each line on its own is refused for the same reason
    for number in (2, 3, 4):
        alone = await validator().lines([lines[number - 1]], first_line=number)
        assert alone.rejections == [r for r in result.rejections if r.index == number]
    # a line ending inside a string, the next one going on with it: joined with a bare
    # comma, the three lines would be three valid events
    start, _, rest = orjson.dumps(view(eventId=ids(6), viewerId="ab,{c")).partition(b",{c")
    lines = [start, b"{c" + rest, lines[3]]
    result = await validator().lines(lines, first_line=1)
    assert [r.index for r in result.rejections] == [1, 2, 3]
    assert result.events == []


async def test_a_nul_character_in_a_batch_of_ordinary_lines_is_found_by_line() -> None:
    lines = [
        orjson.dumps(view(eventId=f"00000000-0000-4000-8000-00000000000{i}")) for i in range(4)
    ]
    lines[2] = orjson.dumps(view(viewerId="a\x00b"))
    result = await validator().lines(lines, first_line=11)
    assert [(r.index, r.field) for r in result.rejections] == [(13, "viewerId")]
    assert len(result.events) == 3


async def test_an_oversized_batch_is_refused_whole_without_looking_inside() -> None:
    result = await validator(max_batch=3).events([view()] * 4)
    assert result.events == []
    assert result.rejections == [
        Rejection(None, None, "a batch holds at most 3 events; this one has 4")
    ]


async def test_python_values_from_an_api_layer_are_taken_as_their_json() -> None:
    raw = view(eventId=UUID(EVENT_ID), occurredAt=NOW - timedelta(days=1))
    data = await only_data(raw)
    assert data["occurredAt"] == "2025-05-31T12:00:00+00:00"
    naive = await only_rejection(view(occurredAt=datetime(2025, 5, 20)))
    assert naive.field == "occurredAt"
    odd = await only_rejection(view(viewer=object()))
    assert (odd.field, odd.index) == (None, 0)
    assert "not representable as JSON" in odd.reason


def test_rejections_describe_themselves() -> None:
    assert Rejection(3, "viewer.country", "bad").describe("line") == "line 3: viewer.country: bad"
    assert Rejection(None, None, "too big").describe() == "too big"
