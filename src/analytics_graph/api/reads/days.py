"""The days a request reads: an inclusive range of UTC calendar days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Days:
    """An inclusive range of UTC days, ``start <= end``."""

    start: date
    end: date

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1
