"""Small value types shared by the analytics types."""

from __future__ import annotations

from datetime import date

import strawberry

from analytics_graph.api.ranges import Days
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

    @classmethod
    def of(cls, metric: readmodel.Metric) -> Metric:
        return cls(
            total=metric.total,
            previous_total=metric.previous_total,
            change_ratio=metric.change_ratio,
            daily=series(metric.daily),
        )


@strawberry.type
class Share:
    key: str
    count: int
    ratio: float

    @classmethod
    def of(cls, share: readmodel.Share) -> Share:
        return cls(key=share.key, count=share.count, ratio=share.ratio)


@strawberry.type(description="hour: 0-23 (UTC).")
class HourValue:
    hour: int
    value: int


@strawberry.type(description="weekday: 1 = Monday ... 7 = Sunday.")
class DayValue:
    weekday: int
    value: int


def series(values: list[readmodel.DailyValue]) -> list[DailyValue]:
    return [DailyValue(date=v.date, value=v.value) for v in values]
