"""What one export is: whose numbers, which days, which file format, which section.

An :class:`ExportRequest` is read from the query string of an export URL
(:func:`parse`), built by ``exportLink`` in GraphQL, or by the command line. Days
follow the rules and limits of GraphQL's ``DateRangeInput`` (``api/ranges.py``):
``?range=LAST_28_DAYS`` (a preset ending today, UTC) or ``?start=&end=``
(inclusive UTC days, at most 731 of them). Without a range an account's export
covers the last 28 days and a video's its whole life.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum
from uuid import UUID

from analytics_graph.api.errors import BadUserInput
from analytics_graph.api.types.ranges import CustomRangeInput, DateRangeInput, Days, Period, resolve
from analytics_graph.errors import AnalyticsGraphError

DEFAULT_ACCOUNT_PERIOD = Period.LAST_28_DAYS
PARAMETERS = ("range", "start", "end", "section", "token")


class Kind(Enum):
    """Whose numbers: an account's (Overview, Content, Followers) or a video's."""

    ACCOUNT = "accounts"
    VIDEO = "videos"


class Format(Enum):
    """The file format (the URL's extension)."""

    CSV = "csv"
    XLSX = "xlsx"


class Section(Enum):
    """One section of an account's analytics (a CSV file holds one)."""

    OVERVIEW = "overview"
    CONTENT = "content"
    FOLLOWERS = "followers"


class BadParameter(AnalyticsGraphError):
    """A parameter of an export is missing, unknown or out of its range."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """One export. ``days`` is ``None`` only for a video's whole life; ``section`` is
    set only for an account's CSV (an XLSX workbook holds every section)."""

    kind: Kind
    id: UUID
    format: Format
    days: Days | None
    section: Section | None

    @classmethod
    def of(
        cls,
        kind: Kind,
        id: UUID,
        format: Format,
        days: Days | None,
        section: Section | None = None,
        *,
        today: date,
    ) -> ExportRequest:
        """The request with its defaults filled in; raises :class:`BadParameter` for a
        section where none applies."""
        if section is not None and kind is Kind.VIDEO:
            raise BadParameter("section", "a video's export has no sections: leave it out")
        if section is not None and format is Format.XLSX:
            raise BadParameter(
                "section", "an XLSX workbook holds every section (one sheet each): leave it out"
            )
        if kind is Kind.ACCOUNT:
            days = days or resolve(DateRangeInput(preset=DEFAULT_ACCOUNT_PERIOD), today)
            if format is Format.CSV:
                section = section or Section.OVERVIEW
        return cls(kind, id, format, days, section)

    def query(self) -> dict[str, str]:
        """The query parameters naming this request's days and section (no token)."""
        params: dict[str, str] = {}
        if self.days is not None:
            params |= {"start": self.days.start.isoformat(), "end": self.days.end.isoformat()}
        if self.section is not None:
            params["section"] = self.section.value
        return params


def parse(
    kind: Kind, id: UUID, format: Format, params: Iterable[tuple[str, str]], today: date
) -> ExportRequest:
    """The export that a URL's query parameters name; raises :class:`BadParameter`
    naming the first parameter that is unknown, repeated, missing or out of range."""
    given: dict[str, str] = {}
    for name, value in params:
        if name not in PARAMETERS:
            raise BadParameter(name, f"unknown parameter (known: {', '.join(PARAMETERS)})")
        if name in given:
            raise BadParameter(name, "given more than once")
        given[name] = value
    section = _section(given.get("section"))
    return ExportRequest.of(kind, id, format, days_of(given, today), section, today=today)


def days_of(given: dict[str, str], today: date) -> Days | None:
    """The days of ``range`` or of ``start`` and ``end`` (``None`` when none is given),
    by the rules of ``DateRangeInput``."""
    preset, start, end = given.get("range"), given.get("start"), given.get("end")
    if preset is not None and (start is not None or end is not None):
        raise BadParameter("range", "give either range or start and end, not both")
    if preset is not None:
        return resolve(DateRangeInput(preset=_period(preset)), today)
    if start is None and end is None:
        return None
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise BadParameter(missing, "give start and end together (YYYY-MM-DD, inclusive)")
    custom = CustomRangeInput(start=_date("start", start), end=_date("end", end))
    try:
        return resolve(DateRangeInput(custom=custom), today)
    except BadUserInput as error:
        raise BadParameter("end", str(error.message).partition(": ")[2]) from None


def _period(value: str) -> Period:
    try:
        return Period[value]
    except KeyError:
        known = ", ".join(p.name for p in Period)
        raise BadParameter("range", f"{value!r} is not one of {known}") from None


def _date(name: str, value: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadParameter(name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _section(value: str | None) -> Section | None:
    if value is None:
        return None
    try:
        return Section(value)
    except ValueError:
        known = ", ".join(s.value for s in Section)
        raise BadParameter("section", f"{value!r} is not one of {known}") from None
