"""Shapes shared by the read-model query modules, and day arithmetic.

Days are UTC calendar days; a range ``(start, end)`` is inclusive. Every daily
series has one entry per day of its range, ascending, zero-filled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Final, NamedTuple

# The small values a dashboard holds hundreds of are named tuples: immutable, and
# made several times faster than frozen dataclasses.


class DailyValue(NamedTuple):
    """One day's value of a series."""

    date: date
    value: int


@dataclass(frozen=True, slots=True)
class Metric:
    """A count over a range ``start .. end``: its total, the total of the equal-length
    period ending the day before the range starts, and the range's daily series, made
    from the per-day ``values`` when it is read (a subscription or an export that asks
    for totals only never builds one; ``bench/live.py``, 10,000 subscribers, two of
    three selections totals only: a round's CPU p50 0.996 -> 0.92-0.96 s)."""

    total: int
    previous_total: int
    values: Mapping[date, int]
    start: date
    end: date

    @property
    def daily(self) -> list[DailyValue]:
        """One value per day of the range, zero-filled."""
        return series(self.values, self.start, self.end)

    @property
    def change_ratio(self) -> float | None:
        """``(total - previous_total) / previous_total``; ``None`` when the previous total is 0."""
        if self.previous_total == 0:
            return None
        return (self.total - self.previous_total) / self.previous_total


@dataclass(frozen=True, slots=True)
class Share:
    """A part of a whole: ``count`` of it, and ``ratio = count / whole``."""

    key: str
    count: int
    ratio: float


def check_range(start: date, end: date) -> None:
    """Raises ``ValueError`` unless ``start <= end``."""
    if end < start:
        raise ValueError(f"a range ends on or after its start: {start} .. {end}")


@lru_cache(maxsize=4096)
def days(start: date, end: date) -> tuple[date, ...]:
    """Every day from ``start`` to ``end`` inclusive (empty when ``end < start``);
    remembered, as dashboards ask for the same ranges again and again."""
    return tuple(start + timedelta(days=i) for i in range((end - start).days + 1))


@lru_cache(maxsize=4096)
def previous_period(start: date, end: date) -> tuple[date, date]:
    """The equal-length range ending the day before ``start`` (remembered, as
    :func:`metric` asks for it for every metric of every account)."""
    length = end - start
    previous_end = start - timedelta(days=1)
    return previous_end - length, previous_end


def series(values: Mapping[date, int], start: date, end: date) -> list[DailyValue]:
    """``values`` (ints) as a zero-filled daily series over ``start .. end``."""
    get, new = values.get, tuple.__new__  # a named tuple's __new__ minus its frame
    return [new(DailyValue, (d, get(d, 0))) for d in days(start, end)]


def metric(values: Mapping[date, int], start: date, end: date) -> Metric:
    """A :class:`Metric` over ``start .. end`` from per-day values (which must cover
    the previous period too)."""
    previous_start = previous_period(start, end)[0]
    total = previous_total = 0
    for day, value in values.items():  # one pass (the previous period ends before start)
        if day >= start:
            if day <= end:
                total += value
        elif day >= previous_start:
            previous_total += value
    return Metric(total, previous_total, values, start, end)


NO_METRIC: Final = Metric(0, 0, {}, date.min + timedelta(days=1), date.min)
"""Nothing over no days (an empty range: its series is empty)."""


def shares(counts: Iterable[tuple[str, int]], whole: int) -> list[Share]:
    """Non-zero counts as shares of ``whole``, largest first, ties by key."""
    ordered = sorted(((k, c) for k, c in counts if c), key=lambda kc: (-kc[1], kc[0]))
    return [Share(k, c, c / whole if whole else 0.0) for k, c in ordered]


class HourValue(NamedTuple):
    """A count for one UTC hour of the day (0-23)."""

    hour: int
    value: int


class DayValue(NamedTuple):
    """A count for one weekday (1 = Monday ... 7 = Sunday)."""

    weekday: int
    value: int
