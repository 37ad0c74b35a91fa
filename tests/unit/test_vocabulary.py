"""The product's words are defined once: the GraphQL enums and the ingest format use them."""

from __future__ import annotations

import msgspec
import pytest
from graphql import GraphQLEnumType

from analytics_graph.api.schema import build_schema
from analytics_graph.domain import vocabulary
from analytics_graph.ingest import wire
from analytics_graph.ingest.vocabulary import EVENT_TYPES

ENUMS = [
    vocabulary.AccountType,
    vocabulary.TrafficSource,
    vocabulary.Gender,
    vocabulary.AgeRange,
]


@pytest.mark.parametrize("words", ENUMS, ids=lambda e: e.__name__)
def test_each_graphql_enum_has_exactly_the_vocabularys_names(words: type) -> None:
    kind = build_schema().engine.graphql_schema.type_map[words.__name__]
    assert isinstance(kind, GraphQLEnumType)
    assert list(kind.values) == [w.value for w in words]  # type: ignore[attr-defined]


def test_the_ingest_formats_type_tags_are_the_engagement_types() -> None:
    union = msgspec.inspect.type_info(wire.EngagementEvent)
    assert isinstance(union, msgspec.inspect.UnionType)
    tags = {t.tag for t in union.types if isinstance(t, msgspec.inspect.StructType)}
    assert tags == set(EVENT_TYPES) == {t.value for t in vocabulary.EngagementType}


def test_the_ingest_format_accepts_every_traffic_source_and_only_those() -> None:
    field, words = "source", vocabulary.TrafficSource
    view = {
        "type": "view",
        "eventId": "6a1f0c52-8f7e-4a43-9d1c-1c2b7e0f4e11",
        "occurredAt": "2026-11-20T18:03:12+00:00",
        "videoId": "v",
        "viewerId": "u",
        "watchedSeconds": 1.0,
    }
    for word in words:
        decoded = msgspec.json.decode(
            msgspec.json.encode({**view, field: word.value}), type=wire.EngagementEvent
        )
        assert getattr(decoded, field) == word.value
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(
            msgspec.json.encode({**view, field: "NOT_A_NAME"}), type=wire.EngagementEvent
        )
