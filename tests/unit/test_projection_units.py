"""The pure parts of the projections: day arithmetic, shares, retention, notices, cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from analytics_graph.projection.notices import MAX_PAYLOAD, ChangeNotice, split
from analytics_graph.projection.projector import Changes
from analytics_graph.projection.tables import qualify
from projections.engagement.videos import retention_points
from projections.entities.queries import VideoEntity, decode_cursor, encode_cursor
from projections.readmodel import (
    DailyValue,
    check_range,
    days,
    metric,
    previous_period,
    series,
    shares,
)


def test_previous_period_is_the_equal_length_range_before() -> None:
    assert previous_period(date(2025, 3, 8), date(2025, 3, 14)) == (
        date(2025, 3, 1),
        date(2025, 3, 7),
    )
    assert previous_period(date(2025, 3, 1), date(2025, 3, 1)) == (
        date(2025, 2, 28),
        date(2025, 2, 28),
    )


def test_series_are_zero_filled_and_metrics_compare_periods() -> None:
    values = {date(2025, 1, 1): 4, date(2025, 1, 3): 2, date(2024, 12, 30): 3}
    assert series(values, date(2025, 1, 1), date(2025, 1, 3)) == [
        DailyValue(date(2025, 1, 1), 4),
        DailyValue(date(2025, 1, 2), 0),
        DailyValue(date(2025, 1, 3), 2),
    ]
    got = metric(values, date(2025, 1, 1), date(2025, 1, 3))
    assert (got.total, got.previous_total, got.change_ratio) == (6, 3, 1.0)
    assert metric({}, date(2025, 1, 1), date(2025, 1, 1)).change_ratio is None
    assert len(days(date(2024, 2, 28), date(2024, 3, 1))) == 3  # a leap day
    with pytest.raises(ValueError, match="range"):
        check_range(date(2025, 1, 2), date(2025, 1, 1))


def test_shares_are_largest_first_and_drop_zeros() -> None:
    got = shares([("b", 2), ("a", 2), ("c", 5), ("d", 0)], 10)
    assert [(s.key, s.count, s.ratio) for s in got] == [("c", 5, 0.5), ("a", 2, 0.2), ("b", 2, 0.2)]
    assert shares([("a", 1)], 0)[0].ratio == 0.0


def test_retention_runs_from_second_zero_to_the_rounded_up_length() -> None:
    points = retention_points({0: 1, 2: 2, 3: 1}, 3.2)  # 4 views
    assert [(p.second, p.ratio) for p in points] == [
        (0, 1.0), (1, 0.75), (2, 0.75), (3, 0.25), (4, 0.0)
    ]  # fmt: skip
    assert [p.ratio for p in retention_points({}, 2.0)] == [0.0, 0.0, 0.0]


def test_large_notices_are_split_under_the_payload_limit() -> None:
    ids = frozenset(str(uuid.uuid4()) for _ in range(900))
    notice = ChangeNotice("engagement", 42, ids, frozenset(list(ids)[:50]))
    parts = list(split(notice))
    assert len(parts) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD for p in parts)
    assert frozenset().union(*(p.accounts for p in parts)) == notice.accounts
    assert frozenset().union(*(p.videos for p in parts)) == notice.videos
    assert {p.position for p in parts} == {42}
    assert ChangeNotice.decode(parts[0].encode()) == parts[0]
    assert list(split(ChangeNotice("x", 1, everything=True))) == [
        ChangeNotice("x", 1, everything=True)
    ]


def test_changes_keep_ids_as_text() -> None:
    video = uuid.uuid4()
    changes = Changes().add(accounts=[None], videos=[video, str(video)])
    assert changes.videos == {str(video)} and not changes.accounts
    assert qualify("SELECT '{}'::jsonb FROM {schema}.t", "rm_x") == "SELECT '{}'::jsonb FROM rm_x.t"


def test_video_cursors_round_trip_and_reject_garbage() -> None:
    video = VideoEntity(
        uuid.uuid4(), uuid.uuid4(), "c", 10.0, datetime(2025, 1, 2, 3, tzinfo=UTC), False
    )
    assert decode_cursor(encode_cursor(video)) == (video.published_at, video.id)
    with pytest.raises(ValueError, match="cursor"):
        decode_cursor("not-a-cursor")
