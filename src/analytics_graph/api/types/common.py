"""Small value types shared by the analytics types, and serving read-model values.

The API's plain value types (``DailyValue``, ``Metric``, ``Share`` ...) have only
fields read off attributes by Strawberry's default resolver (and completed so in
``execution.py``). Where a read model's class has the same attributes, its
objects are served as they are, without copying them into API objects
(:class:`Served`); each such pairing is checked when this module is imported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from typing import Any, Generic, TypeVar, cast

import strawberry
from strawberry.types.base import get_object_definition

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


T = TypeVar("T")


class Served(Generic[T]):
    """Objects of the read-model class ``model`` served as the API type ``api``;
    raises ``TypeError`` unless ``model`` has an attribute for each of ``api``'s
    fields (and ``api``'s fields are all plain attributes)."""

    def __init__(self, api: type[T], model: type) -> None:
        definition = get_object_definition(api, strict=True)
        names = (
            {f.name for f in dataclasses.fields(model)}
            if dataclasses.is_dataclass(model)
            else set()
        )
        for field in definition.fields:
            if field.base_resolver is not None or field.arguments:
                raise TypeError(f"{api.__name__}.{field.python_name} is not a plain field")
            if field.python_name not in names and not hasattr(model, field.python_name):
                raise TypeError(f"{model.__qualname__} has no {field.python_name!r} to serve")

    def one(self, value: Any) -> T:
        return cast(T, value)

    def many(self, values: Sequence[Any]) -> list[T]:
        return cast(list[T], values)


DAILY = Served(DailyValue, readmodel.DailyValue)
METRIC = Served(Metric, readmodel.Metric)  # its daily values are DAILY's
SHARE = Served(Share, readmodel.Share)
HOUR = Served(HourValue, readmodel.HourValue)
DAY = Served(DayValue, readmodel.DayValue)
