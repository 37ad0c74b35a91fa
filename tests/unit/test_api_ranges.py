"""Date ranges: presets count back from today; custom ranges are checked."""

from __future__ import annotations

from datetime import date

import pytest

from analytics_graph.api.errors import BadUserInput
from analytics_graph.api.types.ranges import CustomRangeInput, DateRangeInput, Days, Period, resolve

TODAY = date(2025, 6, 1)


@pytest.mark.parametrize(
    ("period", "start"),
    [
        (Period.LAST_7_DAYS, date(2025, 5, 26)),
        (Period.LAST_28_DAYS, date(2025, 5, 5)),
        (Period.LAST_60_DAYS, date(2025, 4, 3)),
        (Period.LAST_365_DAYS, date(2024, 6, 2)),
    ],
)
def test_presets_end_today(period: Period, start: date) -> None:
    days = resolve(DateRangeInput(preset=period), TODAY)
    assert days == Days(start, TODAY)
    assert days.length == period.days


def test_a_custom_range_is_inclusive() -> None:
    one_day = resolve(DateRangeInput(custom=CustomRangeInput(start=TODAY, end=TODAY)), TODAY)
    assert one_day.length == 1


def test_a_range_that_ends_before_it_starts_is_named() -> None:
    backwards = DateRangeInput(custom=CustomRangeInput(start=TODAY, end=date(2025, 5, 1)))
    with pytest.raises(BadUserInput, match=r"range.custom: start \(2025-06-01\) must be on or"):
        resolve(backwards, TODAY)
