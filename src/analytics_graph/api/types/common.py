"""Small value types shared by the analytics types, and serving read-model values.

The API's plain value types (``DailyValue``, ``Metric``, ``Share`` ...) have only
fields read off attributes by Strawberry's default resolver (and completed so in
``execution.py``). Where a read model's class has the same attributes, its
objects are served as they are, without copying them into API objects
(:class:`Served`); each such pairing is checked when this module is imported.
"""

from __future__ import annotations

from datetime import date

import strawberry

from analytics_graph.api.engine.served import Served
from analytics_graph.api.types.ranges import Days
from projections import readmodel


@strawberry.type
class DateRange:
    start: date
    end: date

    @classmethod
    def of(cls, days: Days) -> DateRange:
        return cls(start=days.start, end=days.end)


@strawberry.type
class DailyValue:
    date: date
    value: int


@strawberry.type(
    description="A count over the range, the previous equal-length period, the change, per day."
)
class Metric:
    total: int
    previous_total: int = strawberry.field(
        description="The same count over the equal-length range ending the day before start."
    )
    change_ratio: float | None = strawberry.field(
        description="(total - previousTotal) / previousTotal; null when previousTotal is 0."
    )
    daily: list[DailyValue] = strawberry.field(
        description="One entry per day of the range, ascending, zero-filled."
    )


@strawberry.type
class Share:
    key: str
    count: int
    ratio: float


@strawberry.type(description="hour: 0-23 (UTC).")
class HourValue:
    hour: int
    value: int


@strawberry.type(description="weekday: 1 = Monday ... 7 = Sunday.")
class DayValue:
    weekday: int
    value: int


DAILY = Served(DailyValue, readmodel.DailyValue)
METRIC = Served(Metric, readmodel.Metric)  # its daily values are DAILY's
SHARE = Served(Share, readmodel.Share)
HOUR = Served(HourValue, readmodel.HourValue)
DAY = Served(DayValue, readmodel.DayValue)
