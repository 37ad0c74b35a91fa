"""The compact format's codes and what it refuses (eventstore/formats.py)."""

from __future__ import annotations

from dataclasses import replace

from analytics_graph.domain.vocabulary import AgeRange, EngagementType, Gender, TrafficSource
from analytics_graph.eventstore.formats import AGE_RANGES, GENDERS, SOURCES, USER_KEYS, compact
from tests.integration.format_support import facts


def test_every_enum_value_has_a_code_and_the_codes_are_the_stored_ones() -> None:
    # Codes are stored: this order may only grow at its end.
    assert SOURCES[:7] == ("FOR_YOU", "FOLLOWING", "PERSONAL_PROFILE", "SOUND", "SEARCH",
                           "HASHTAG", "OTHER")  # fmt: skip
    assert set(SOURCES) == set(TrafficSource)
    assert set(GENDERS) == set(Gender) and set(AGE_RANGES) == set(AgeRange)
    assert set(USER_KEYS) == set(EngagementType)


def test_every_shape_the_ingest_writes_is_compact() -> None:
    assert all(compact(event) is not None for event in facts(2_000))


def test_aggregate_events_and_mismatched_columns_are_not() -> None:
    view = next(e for e in facts(50) if e.type == "view")
    assert compact(replace(view, stream_id="another")) is None
    assert compact(replace(view, type="like")) is None
    assert compact(replace(view, data="not json")) is None
    assert compact(replace(view, data=None, state=b"x", stream_version=1)) is None
