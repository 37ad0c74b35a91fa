"""Date ranges: presets relative to today (UTC), or custom inclusive days; what they
mean as :class:`~analytics_graph.api.reads.days.Days`."""

from __future__ import annotations

from datetime import date, timedelta
from enum import Enum

import strawberry

from analytics_graph.api.errors import BadUserInput
from analytics_graph.api.reads.days import Days

MAX_RANGE_DAYS = 731


@strawberry.enum(description="A range ending today (UTC), today included.")
class Period(Enum):
    LAST_7_DAYS = "LAST_7_DAYS"
    LAST_28_DAYS = "LAST_28_DAYS"
    LAST_60_DAYS = "LAST_60_DAYS"
    LAST_365_DAYS = "LAST_365_DAYS"

    @property
    def days(self) -> int:
        return int(self.value.split("_")[1])


@strawberry.input
class CustomRangeInput:
    start: date
    end: date


@strawberry.input(one_of=True, description="Days are UTC calendar days; a range is inclusive.")
class DateRangeInput:
    preset: Period | None = strawberry.UNSET
    custom: CustomRangeInput | None = strawberry.UNSET


def resolve(range: DateRangeInput, today: date) -> Days:
    """The days a range input means; raises :class:`BadUserInput` naming what is wrong."""
    if isinstance(range.preset, Period):
        return Days(today - timedelta(days=range.preset.days - 1), today)
    custom = range.custom
    if not isinstance(custom, CustomRangeInput):
        raise BadUserInput("range", "give exactly one of preset and custom")
    if custom.start > custom.end:
        raise BadUserInput(
            "range.custom", f"start ({custom.start}) must be on or before end ({custom.end})"
        )
    days = Days(custom.start, custom.end)
    if days.length > MAX_RANGE_DAYS:
        raise BadUserInput(
            "range.custom", f"a range spans at most {MAX_RANGE_DAYS} days, not {days.length}"
        )
    return days


__all__ = ["MAX_RANGE_DAYS", "CustomRangeInput", "DateRangeInput", "Days", "Period", "resolve"]
