"""``formats.compact``'s fast path (the payload text decoded in one msgspec pass) gives
every payload the columns the key-by-key rule (``compact_by_keys``) gives it, for the
shapes the ingest writes and for payloads a step away from them (nulls, unknown keys,
other types, empty attributes, other spellings of the same id or moment, ...)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import orjson
import pytest

from analytics_graph.eventstore import NewEvent, formats
from analytics_graph.eventstore.formats import compact, compact_by_keys
from tests.integration.format_support import facts

SHAPES = facts(3_000, seed=11)


def as_text(event: NewEvent, data: dict[str, Any] | None = None) -> NewEvent:
    payload = event.data if data is None else data
    return replace(event, data=orjson.dumps(payload).decode())


def test_the_shapes_the_ingest_writes_take_the_fast_path_to_the_same_columns() -> None:
    for event in SHAPES:
        text = as_text(event)
        decoded = formats._PAYLOAD.decode(text.data)
        fast = formats._typed_columns(text, decoded)  # raises if it refused the payload
        assert fast == compact_by_keys(text) == compact_by_keys(event)
        assert compact(text) == fast


def _variants(event: NewEvent, rng: random.Random) -> list[dict[str, Any]]:
    data = orjson.loads(orjson.dumps(event.data))
    out: list[dict[str, Any]] = []
    for key in data:
        out.append({**data, key: None})
        out.append({k: v for k, v in data.items() if k != key})
        out.append({**data, key: rng.choice([0, 1.5, True, "x", [], {}, "", -0.0])})
    out.append({**data, "unknown": 1})
    out.append({**data, "eventId": data["eventId"].upper()})
    out.append({**data, "eventId": data["eventId"].replace("-", "")})
    out.append({**data, "occurredAt": data["occurredAt"].replace("+00:00", "Z")})
    out.append({**data, "accountId": data["accountId"].upper()})
    out.append({**data, "type": "like" if data["type"] != "like" else "view"})
    for key in ("viewer", "follower"):
        if key in data or data["type"] in ("view", "follow"):
            out += [
                {**data, key: {}},
                {**data, key: {"country": None}},
                {**data, key: {"country": 5}},
                {**data, key: {"gender": "NOPE"}},
                {**data, key: {"country": "de", "extra": 1}},
                {**data, key: {"ageRange": "UNKNOWN", "gender": None}},
                {**data, key: []},
            ]
    if data["type"] == "view":
        for seconds in (0, 30, 30.0, -0.0, 0.0, 1e-7, 1e308, 2**63 - 1, -1, True, "30"):
            out.append({**data, "watchedSeconds": seconds})
        out.append({**data, "source": "NOPE"})
        out.append({**data, "completed": 1})
        out.append({**data, "searchTerm": ""})
    if data["type"] == "follow":
        out.append({**data, "viaVideoId": "not a uuid"})
        out.append({**data, "viaVideoId": str(event.stream_id).upper()})
    return out


def test_payloads_a_step_away_get_what_the_key_by_key_rule_gives() -> None:
    rng = random.Random(5)
    compared = 0
    for event in SHAPES[:300]:
        for data in _variants(event, rng):
            text = as_text(event, data)
            assert compact(text) == compact_by_keys(text), text.data
            compared += 1
    assert compared > 5_000


@pytest.mark.parametrize(
    "text",
    [
        # a key twice: both readers keep the last one
        '{"userId":"a","eventId":"%(id)s","type":"like","occurredAt":"%(at)s",'
        '"videoId":"%(video)s","accountId":"%(account)s","userId":"b"}',
        '{"type":"view","eventId":"%(id)s","type":"like","occurredAt":"%(at)s",'
        '"videoId":"%(video)s","accountId":"%(account)s","userId":"b"}',
        # spaces and escapes in the text
        ' { "eventId" : "%(id)s", "type":"like","occurredAt":"%(at)s",'
        '"videoId":"%(video)s","accountId":"%(account)s","userId":"\\u00e9\\t"} ',
        "not json",
        "[]",
        # integers beyond 64 bits, which orjson reads as floats
        *(
            '{"eventId":"%(id)s","type":"view","occurredAt":"%(at)s","videoId":"%(video)s",'
            '"accountId":"%(account)s","viewerId":"u","watchedSeconds":' + number + ","
            '"completed":true,"source":"FOR_YOU"}'
            for number in ("18446744073709551615", "18446744073709551616", "1" + "0" * 30)
        ),
    ],
)
def test_texts_written_otherwise(text: str) -> None:
    """Texts that orjson does not write (the payloads above are orjson's)."""
    like = next(e for e in SHAPES if e.type == "like")
    data = orjson.loads(orjson.dumps(like.data))
    filled = text % {
        "id": data["eventId"],
        "at": data["occurredAt"],
        "video": data["videoId"],
        "account": data["accountId"],
    }
    view = "watchedSeconds" in text
    event = replace(like, data=filled, type="view" if view else like.type)
    assert compact(event) == compact_by_keys(event)
    if view:
        assert compact(event) is not None
