"""Why an event was refused, in words a collector can act on.

A :class:`Rejection` names where (``index``: the list index of the event, or
the line number in a file), which field (a dotted path such as
``viewer.country``; ``None`` when the event as a whole is wrong) and why.
:func:`from_msgspec` turns msgspec's structural errors into rejections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import msgspec

from analytics_graph.ingest.vocabulary import (
    AGE_RANGES,
    EVENT_TYPES,
    GENDERS,
    MAX_TEXT_LENGTH,
    TRAFFIC_SOURCES,
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused event: where, which field, why."""

    index: int | None
    field: str | None
    reason: str

    def order(self) -> int:
        """Where it sorts: by ``index``, a rejection of a whole batch (no index) first."""
        return -1 if self.index is None else self.index

    def describe(self, unit: str = "event") -> str:
        """E.g. ``line 7: viewer.country: must be ...``; ``unit`` names what ``index`` counts."""
        where = f"{unit} {self.index}: " if self.index is not None else ""
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.reason}"


class Invalid(Exception):
    """Raised inside validation for one event; becomes a :class:`Rejection`."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def at(self, index: int | None) -> Rejection:
        return Rejection(index, self.field, self.reason)


_TEXT = f"must be a non-empty string of at most {MAX_TEXT_LENGTH} characters"
# What each field must look like, keyed by its last name in the path.
HINTS: Final[dict[str, str]] = {
    "eventId": "must be a UUID",
    "occurredAt": "must be an RFC 3339 timestamp with an offset, e.g. 2025-05-01T12:00:00Z",
    "videoId": "must be a UUID",
    "accountId": "must be a UUID",
    "viaVideoId": "must be a UUID",
    "watchedSeconds": "must be a number >= 0",
    "completed": "must be true or false",
    "source": "must be one of " + ", ".join(TRAFFIC_SOURCES),
    "gender": "must be one of " + ", ".join(GENDERS),
    "ageRange": "must be one of " + ", ".join(AGE_RANGES),
    "country": "must be an ISO 3166-1 alpha-2 country code (two letters)",
    "viewer": "must be an object with optional country, gender, ageRange",
    "follower": "must be an object with optional country, gender, ageRange",
    "viewerId": _TEXT,
    "userId": _TEXT,
    "followerId": _TEXT,
    "searchTerm": _TEXT,
    "channel": _TEXT,
}
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED = re.compile(r"^Object (?P<what>missing required|contains unknown) field `(?P<name>[^`]*)`$")
_TYPES = ", ".join(EVENT_TYPES)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def from_msgspec(error: msgspec.MsgspecError) -> Invalid:
    """The field and reason of a msgspec decoding or validation error."""
    if not isinstance(error, msgspec.ValidationError):  # a DecodeError that is not a subclass
        return Invalid(None, f"malformed JSON ({error})")
    match = _AT.match(str(error))
    assert match is not None  # the pattern matches any text
    message = match["message"]
    path = (match["path"] or "").lstrip(".")
    named = _NAMED.match(message)
    if named:
        field = _join(path, named["name"])
        if named["what"] == "missing required":
            return Invalid(field, "is required")
        return Invalid(field, "is not a field of this event type")
    if path == "type":
        return Invalid("type", f"unknown event type ({message}); expected one of {_TYPES}")
    if not path:
        return Invalid(None, f"an event must be a JSON object ({message})")
    hint = HINTS.get(path.rsplit(".", 1)[-1])
    return Invalid(path, f"{hint} ({message})" if hint else message)
