"""The log's two formats of an engagement fact, and the one shape every reader sees.

Format 1 (``format`` NULL; every row before migration 7, and any row the compact
form cannot hold exactly): the payload as a JSON object in ``data``
(``docs/log-format.md``).

Format 2 (``format`` = 2): the same object in typed columns, ``data`` NULL. What
the row already holds is not stored again (``eventId``, ``type``, ``occurredAt``,
and ``videoId`` or ``accountId``: the stream); the rest goes into
:data:`FORMAT_COLUMNS`. Stored rows are never rewritten: old rows keep format 1.

The upcaster is SQL (:func:`payload_text`): it prints a format 2 row exactly as
PostgreSQL prints the ``jsonb`` value format 1 stores for the same event (and
:func:`payload` is that jsonb), so the event store's reads,
``eventLog``, the exports and the auditors' canonical bytes (``audit/leaves.py``)
are the same whatever the format. Set-based projections read single fields
through the expressions at the end of this module, which look in both places.

:func:`compact` decides per event: it stores format 2 only when the upcaster gives
back exactly the JSON format 1 would store, else ``None`` (the caller stores JSON).
A payload given as JSON text (as ``append_bulk``'s callers mostly give it) is first
decoded in one msgspec pass into the shapes the ingest writes, typed as format 2
holds them; one that does not fit them is decided key by key (:func:`compact_by_keys`,
the same rule; ``tests/unit/test_log_formats_fast.py`` holds the two together).
The ingest builds its rows of :data:`COPY_COLUMNS` itself (``ingest/normalise.py``),
under the same rule; :func:`expand` gives back the payload of such a row.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import msgspec
import orjson
from asyncpg.pgproto.pgproto import UUID as PgUUID

from analytics_graph.eventstore.records import NewEvent

COMPACT: Final = 2
FORMAT_COLUMNS: Final = (
    "format", "account_id", "user_id", "watched", "completed", "source",
    "search_term", "channel", "via_video_id", "country", "gender", "age_range",
)  # fmt: skip
NO_FORMAT_COLUMNS: Final[tuple[None, ...]] = (None,) * len(FORMAT_COLUMNS)
#: What COPY writes for a row of the log, in this order (``EventStore.append_rows``).
COPY_COLUMNS: Final = (
    "stream_id", "stream_version", "type", "event_id", "occurred_at", "data", "state",
    *FORMAT_COLUMNS,
)  # fmt: skip
#: The values of :data:`COPY_COLUMNS` for one engagement fact.
FactRow = tuple[Any, ...]
EVENT_ID: Final = COPY_COLUMNS.index("event_id")

# Enum values stored as their 1-based index in these tuples: append only, a stored
# code never changes its meaning (tests/unit/test_log_formats.py holds them to the
# vocabulary).
SOURCES: Final = (
    "FOR_YOU", "FOLLOWING", "PERSONAL_PROFILE", "SOUND", "SEARCH", "HASHTAG", "OTHER",
)  # fmt: skip
GENDERS: Final = ("FEMALE", "MALE", "OTHER", "UNKNOWN")
AGE_RANGES: Final = ("AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_PLUS", "UNKNOWN")

# The key of the user id column, by type (which types have format 2 at all).
USER_KEYS: Final = {
    "view": "viewerId", "profileView": "viewerId",
    "like": "userId", "unlike": "userId", "comment": "userId", "share": "userId",
    "favorite": "userId",
    "follow": "followerId", "unfollow": "followerId",
}  # fmt: skip
ATTRIBUTE_KEYS: Final = {"view": "viewer", "follow": "follower"}
# Keys beyond the common ones (eventId, type, occurredAt, accountId, the user id).
_OPTIONAL: Final = {
    "view": {"videoId", "watchedSeconds", "completed", "source", "searchTerm", "viewer"},
    "share": {"videoId", "channel"},
    "follow": {"viaVideoId", "follower"},
}
SOURCE_CODES: Final = {name: i for i, name in enumerate(SOURCES, 1)}
GENDER_CODES: Final = {name: i for i, name in enumerate(GENDERS, 1)}
AGE_RANGE_CODES: Final = {name: i for i, name in enumerate(AGE_RANGES, 1)}
_CODES: Final = {"source": SOURCE_CODES, "gender": GENDER_CODES, "ageRange": AGE_RANGE_CODES}


class _Lossy(Exception):
    """The compact form would not give back this exact payload."""


def _expect(condition: bool) -> None:
    if not condition:
        raise _Lossy


def iso(moment: datetime) -> str:
    """``moment`` as the JSON payload writes it (orjson: microseconds only when not 0)."""
    return orjson.dumps(moment).decode()[1:-1]


def _text(value: Any) -> str:
    _expect(type(value) is str)
    return str(value)


_CANONICAL: dict[str, PgUUID] = {}  # ids known canonical (accounts and videos repeat)
MAX_CANONICAL: Final = 100_000


def _owner(stream_id: str, account: Any, video: Any) -> PgUUID | None:
    """The video's owner to store for an event on a video (``video`` given), else
    ``None``; the payload's ids must name the event's own stream."""
    if video is None:
        _expect(account == stream_id)
        return None
    _expect(video == stream_id)
    return _uuid(account)


def _uuid(value: Any) -> PgUUID:
    known = _CANONICAL.get(_text(value))
    if known is not None:
        return known
    try:
        parsed = PgUUID(_text(value))
    except ValueError:
        raise _Lossy from None
    _expect(str(parsed) == value)
    if len(_CANONICAL) >= MAX_CANONICAL:
        _CANONICAL.clear()
    _CANONICAL[value] = parsed
    return parsed


def _same_moment(given: Any, column: datetime) -> bool:
    """Whether ``given`` (``occurredAt``) is written as the UTC text of ``column``."""
    if given is column and column.tzinfo is UTC:
        return True  # as the ingest makes it: no need to print either
    text = iso(given) if isinstance(given, datetime) else given
    return bool(text == iso(column.astimezone(UTC)))


def _number(value: Any) -> Decimal:
    # numeric keeps the digits and the scale jsonb keeps ("30.0" stays "30.0").
    _expect(type(value) in (int, float) and math.isfinite(value))
    _expect(math.copysign(1, value) > 0)  # numeric has no -0.0
    return Decimal(orjson.dumps(value).decode())


def _code(kind: str, value: Any) -> int:
    _expect(type(value) is str)  # (a list or a dict here raised TypeError before)
    code = _CODES[kind].get(value)
    _expect(code is not None)
    return code  # type: ignore[return-value]


def _attributes(given: Any) -> tuple[str | None, int | None, int | None]:
    if given is None:
        return None, None, None
    _expect(type(given) is dict and bool(given) and set(given) <= {"country", "gender", "ageRange"})
    country = given.get("country")
    gender = given.get("gender")
    age = given.get("ageRange")
    return (
        None if country is None else _text(country),
        None if gender is None else _code("gender", gender),
        None if age is None else _code("ageRange", age),
    )


def _payload_of(event: NewEvent) -> dict[str, Any]:
    data = event.data
    if isinstance(data, str):
        data = orjson.loads(data)
    _expect(type(data) is dict)
    return dict(data)


def _columns(event: NewEvent, data: dict[str, Any]) -> tuple[Any, ...]:
    kind = event.type
    assert event.occurred_at is not None
    _expect(data.pop("eventId") == str(event.event_id) and data.pop("type") == kind)
    _expect(_same_moment(data.pop("occurredAt"), event.occurred_at))
    user = _text(data.pop(USER_KEYS[kind]))
    owner = _owner(event.stream_id, data.pop("accountId"), data.pop("videoId", None))
    _expect(set(data) <= _OPTIONAL.get(kind, set()) and None not in data.values())
    watched = data.get("watchedSeconds")
    completed = data.get("completed")
    source = data.get("source")
    term = data.get("searchTerm")
    channel = data.get("channel")
    via = data.get("viaVideoId")
    if kind == "view":
        _expect(type(completed) is bool)
        source = _code("source", source)
        watched = _number(watched)
    return (
        COMPACT, owner, user, watched, completed, source,
        None if term is None else _text(term),
        None if channel is None else _text(channel),
        None if via is None else _uuid(via),
        *_attributes(data.get(ATTRIBUTE_KEYS.get(kind, ""))),
    )  # fmt: skip


def compact(event: NewEvent) -> tuple[Any, ...] | None:
    """The values of :data:`FORMAT_COLUMNS` for ``event`` in format 2, or ``None`` when
    it has no format 2 (not an engagement fact, or a payload the columns cannot give
    back byte for byte: an unknown key, a null, an empty ``viewer``, ...)."""
    if event.type not in USER_KEYS or event.event_id is None or event.occurred_at is None:
        return None
    if event.stream_version is not None or event.state is not None:
        return None
    if type(event.data) is str:
        try:
            return _typed_columns(event, _PAYLOAD.decode(event.data))
        except (msgspec.MsgspecError, _Lossy):
            pass  # not the plain shape: decided key by key below (the same rule)
    return compact_by_keys(event)


def compact_by_keys(event: NewEvent) -> tuple[Any, ...] | None:
    """:func:`compact` of an engagement fact, the payload read as a dict, key by key
    (the general path, and the rule the fast one is held to)."""
    try:
        return _columns(event, _payload_of(event))
    except (_Lossy, KeyError, orjson.JSONDecodeError):
        return None


# ---------------------------------------------------------------- the fast path
# The payload text decoded in one C pass into the shapes the ingest writes, each key
# typed as format 2 holds it (no nulls, no unknown keys). A payload it decodes gets
# the columns :func:`_columns` would give it (``tests/unit/test_log_formats_fast.py``
# holds the two to each other); anything else (a null, an unknown key, a number
# where a string goes, an empty ``viewer``, ...) goes to :func:`_columns`, which
# decides as before.
_NO: Final = msgspec.UNSET


class _Attributes(msgspec.Struct, forbid_unknown_fields=True, rename="camel", gc=False):
    country: str | msgspec.UnsetType = _NO
    gender: str | msgspec.UnsetType = _NO
    age_range: str | msgspec.UnsetType = _NO


class _Payload(
    msgspec.Struct, forbid_unknown_fields=True, rename="camel", tag_field="type", gc=False
):
    event_id: str
    occurred_at: str
    account_id: str


class _OnVideo(_Payload):
    video_id: str


class _View(_OnVideo, tag="view"):
    viewer_id: str
    watched_seconds: int | float
    completed: bool
    source: str
    search_term: str | msgspec.UnsetType = _NO
    viewer: _Attributes | msgspec.UnsetType = _NO


class _UserOnVideo(_OnVideo):
    user_id: str


class _Like(_UserOnVideo, tag="like"):
    pass


class _Unlike(_UserOnVideo, tag="unlike"):
    pass


class _Comment(_UserOnVideo, tag="comment"):
    pass


class _Favorite(_UserOnVideo, tag="favorite"):
    pass


class _Share(_UserOnVideo, tag="share"):
    channel: str | msgspec.UnsetType = _NO


class _ProfileView(_Payload, tag="profileView"):
    viewer_id: str


class _Follow(_Payload, tag="follow"):
    follower_id: str
    via_video_id: str | msgspec.UnsetType = _NO
    follower: _Attributes | msgspec.UnsetType = _NO


class _Unfollow(_Payload, tag="unfollow"):
    follower_id: str


_PAYLOAD: Final = msgspec.json.Decoder(
    _View | _Like | _Unlike | _Comment | _Favorite | _Share | _ProfileView | _Follow | _Unfollow
)
_TAGS: Final[dict[type[Any], str]] = {
    _View: "view", _Like: "like", _Unlike: "unlike", _Comment: "comment",
    _Favorite: "favorite", _Share: "share", _ProfileView: "profileView",
    _Follow: "follow", _Unfollow: "unfollow",
}  # fmt: skip
_USER_FIELDS: Final = {
    kind: "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
    for kind, key in USER_KEYS.items()
}  # viewerId: viewer_id
FLOAT_DECIMALS: dict[float, Decimal] = {}
"""What :func:`float_decimal` made, by value (watch times repeat: players report
coarse steps). A hit on a value above 0 is the answer (0.0 and -0.0 are one key)."""
_INTS: dict[int, Decimal] = {}


def float_decimal(value: float) -> Decimal | None:
    """A float as the ``numeric`` column holds it (:func:`_number`: the digits and the
    scale of its JSON), memoised; ``None`` for what the column cannot give back (-0.0),
    which stays JSON. The ingest's rows take their watch times from here too."""
    found = FLOAT_DECIMALS.get(value)
    if found is not None and value > 0:
        return found
    try:
        number = _number(value)
    except _Lossy:
        return None
    if len(FLOAT_DECIMALS) >= MAX_CANONICAL:
        FLOAT_DECIMALS.clear()
    FLOAT_DECIMALS[value] = number
    return number


def _typed_number(value: int | float) -> Decimal:
    """:func:`_number`, memoised (ints and floats apart: ``30`` and ``30.0`` differ)."""
    if isinstance(value, float):
        number = float_decimal(value)
        _expect(number is not None)
        return number  # type: ignore[return-value]
    # orjson, which reads the payload key by key, takes an integer of 2**64 or more as
    # a float (and cannot print it as an int): left to that path.
    _expect(value < 2**64)
    found = _INTS.get(value)
    if found is not None and value > 0:
        return found
    number = _number(value)
    if len(_INTS) >= MAX_CANONICAL:
        _INTS.clear()
    _INTS[value] = number
    return number


def _typed_attributes(given: _Attributes) -> tuple[str | None, int | None, int | None]:
    country, gender, age = given.country, given.gender, given.age_range
    _expect(not (country is _NO and gender is _NO and age is _NO))  # {}: kept as JSON
    return (
        None if country is _NO else country,
        None if gender is _NO else _code("gender", gender),
        None if age is _NO else _code("ageRange", age),
    )


def _typed_columns(event: NewEvent, data: Any) -> tuple[Any, ...]:
    """:func:`_columns` of a payload :data:`_PAYLOAD` decoded."""
    kind = event.type
    assert event.occurred_at is not None
    _expect(_TAGS[type(data)] == kind and data.event_id == str(event.event_id))
    _expect(_same_moment(data.occurred_at, event.occurred_at))
    owner = _owner(event.stream_id, data.account_id, getattr(data, "video_id", None))
    if kind == "view":
        term, viewer = data.search_term, data.viewer
        return (
            COMPACT, owner, data.viewer_id, _typed_number(data.watched_seconds), data.completed,
            _code("source", data.source), None if term is _NO else term, None, None,
            *(_NO_ATTRIBUTES if viewer is _NO else _typed_attributes(viewer)),
        )  # fmt: skip
    if kind == "follow":
        via, follower = data.via_video_id, data.follower
        return (
            COMPACT, owner, data.follower_id, None, None, None, None, None,
            None if via is _NO else _uuid(via),
            *(_NO_ATTRIBUTES if follower is _NO else _typed_attributes(follower)),
        )  # fmt: skip
    channel = getattr(data, "channel", _NO)
    return (
        COMPACT, owner, getattr(data, _USER_FIELDS[kind]), None, None, None, None,
        None if channel is _NO else channel, None, None, None, None,
    )  # fmt: skip


_NO_ATTRIBUTES: Final = (None, None, None)


def expand(row: FactRow) -> dict[str, Any]:
    """The payload of a row of :data:`COPY_COLUMNS` holding an engagement fact (format 1's
    JSON object; for format 2 its keys in the order the ingest writes them). The inverse
    of :func:`compact` for the rows the ingest makes."""
    (stream, _, kind, event_id, moment, data, _, form, owner, user, watched, completed,
     source, term, channel, via, country, gender, age) = row  # fmt: skip
    if form is None:
        return dict(orjson.loads(data))
    out: dict[str, Any] = {"eventId": str(event_id), "type": kind, "occurredAt": moment}
    if owner is None:
        out["accountId"] = stream
    else:
        out["videoId"], out["accountId"] = stream, str(owner)
    out[USER_KEYS[kind]] = user
    if watched is not None:
        out["watchedSeconds"] = float(watched)
    if completed is not None:
        out["completed"] = completed
    if source is not None:
        out["source"] = SOURCES[source - 1]
    optional = {"searchTerm": term, "channel": channel, "viaVideoId": via}
    out.update((key, str(value)) for key, value in optional.items() if value is not None)
    if (country, gender, age) != (None, None, None):
        attributes = {"country": country, "gender": gender and GENDERS[gender - 1],
                      "ageRange": age and AGE_RANGES[age - 1]}  # fmt: skip
        out[ATTRIBUTE_KEYS[kind]] = {k: v for k, v in attributes.items() if v is not None}
    return out


def as_new_event(row: FactRow) -> NewEvent:
    """The :class:`NewEvent` of a row of :data:`COPY_COLUMNS` (``data``: its JSON text)."""
    data = row[5] if row[7] is None else orjson.dumps(expand(row)).decode()
    return NewEvent(row[0], row[2], None, row[EVENT_ID], row[4], data)


# ---------------------------------------------------------------- SQL: the upcaster


def _names(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def _in(column: str, kinds: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(k) for k in kinds)})"


def _pairs(pairs: list[tuple[str, str]]) -> str:
    """A JSON object's text from ``(key, SQL text of the value)``, pairs whose value is
    NULL left out: in the order given, which must be jsonb's (by length, then bytes)."""
    members = ", ".join(f"""'"{key}": ' || {value}""" for key, value in pairs)
    return f"'{{' || concat_ws(', ', {members}) || '}}'"


def payload_text(alias: str = "") -> str:
    """A ``text`` expression: the row's payload as PostgreSQL prints format 1's jsonb
    (``data::text``), whatever its format: the upcaster (``alias``: the table's alias
    with its dot, e.g. ``"e."``). Format 2's text is assembled directly in jsonb's
    canonical form (keys by length then bytes, ``": "`` and ``", "``), which is what
    the auditors hash; ``tests/integration/test_log_formats.py`` holds it to jsonb."""
    e = alias

    def js(value: str) -> str:
        return f"to_json({value})::text"

    occurred = f"{e}occurred_at AT TIME ZONE 'UTC'"
    when = (
        f"""'"' || to_char({occurred}, 'YYYY-MM-DD"T"HH24:MI:SS')"""
        f" || CASE WHEN date_trunc('second', {occurred}) = {occurred} THEN ''"
        f""" ELSE to_char({occurred}, '.US') END || '+00:00"'"""
    )
    attributes = _pairs([
        ("gender", js(f"({_names(GENDERS)})[{e}gender]")),
        ("country", js(f"{e}country")),
        ("ageRange", js(f"({_names(AGE_RANGES)})[{e}age_range]")),
    ])  # fmt: skip
    given = f"num_nonnulls({e}country, {e}gender, {e}age_range) > 0"
    attributes = f"CASE WHEN {given} THEN {attributes} END"
    user = {key: [k for k, v in USER_KEYS.items() if v == key] for key in set(USER_KEYS.values())}
    kind = f"{e}type"
    compact_text = _pairs([
        ("type", js(kind)),
        ("source", js(f"({_names(SOURCES)})[{e}source]")),
        ("userId", f"CASE WHEN {_in(kind, user['userId'])} THEN {js(e + 'user_id')} END"),
        ("viewer", f"CASE WHEN {kind} = 'view' THEN {attributes} END"),
        ("channel", js(f"{e}channel")),
        ("eventId", js(f"{e}event_id")),
        ("videoId", f"CASE WHEN {e}account_id IS NOT NULL THEN {js(e + 'stream_id')} END"),
        ("follower", f"CASE WHEN {kind} = 'follow' THEN {attributes} END"),
        ("viewerId", f"CASE WHEN {_in(kind, user['viewerId'])} THEN {js(e + 'user_id')} END"),
        ("accountId", js(f"coalesce({e}account_id::text, {e}stream_id)")),
        ("completed", js(f"{e}completed")),
        ("followerId", f"CASE WHEN {_in(kind, user['followerId'])} THEN {js(e + 'user_id')} END"),
        ("occurredAt", when),
        ("searchTerm", js(f"{e}search_term")),
        ("viaVideoId", js(f"{e}via_video_id")),
        ("watchedSeconds", f"{e}watched::text"),
    ])  # fmt: skip
    return f"CASE WHEN {e}format IS NULL THEN {e}data::text ELSE {compact_text} END"


def payload(alias: str = "") -> str:
    """:func:`payload_text` as ``jsonb`` (for SQL that reads into the payload)."""
    return f"({payload_text(alias)})::jsonb"


# ---------------------------------------------------------------- SQL: single fields
# Each reads format 2's column, else format 1's JSON key (a row has one or the other).


def account_id(alias: str = "") -> str:
    """``accountId`` as text: the video's owner for video events, else the account."""
    e = alias
    return (
        f"CASE WHEN {e}format IS NULL THEN {e}data->>'accountId'"
        f" ELSE coalesce({e}account_id::text, {e}stream_id) END"
    )


ACCOUNT_ID: Final = account_id()
ACCOUNT_UUID: Final = (
    "CASE WHEN format IS NULL THEN (data->>'accountId')::uuid"
    " ELSE coalesce(account_id, stream_id::uuid) END"
)
""":data:`ACCOUNT_ID` as ``uuid``, without a trip through text for video events (whose
row holds their video's owner, set by ingest from the video's publication)."""
VIEWER_ID: Final = "coalesce(user_id, data->>'viewerId')"
EPOCH: Final = "timestamptz '2000-01-01 00:00+00'"
"""An origin for ``date_bin``: UTC hours (and days) start at a whole multiple from it."""
FOLLOWER_ID: Final = "coalesce(user_id, data->>'followerId')"
WATCHED_SECONDS: Final = "coalesce(watched, (data->>'watchedSeconds')::numeric)"
COMPLETED: Final = "coalesce(completed, (data->>'completed')::boolean)"
SOURCE: Final = f"coalesce(({_names(SOURCES)})[source], data->>'source')"
SEARCH_TERM: Final = "coalesce(search_term, data->>'searchTerm')"
