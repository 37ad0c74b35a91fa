"""The canonical encoding of a stored event, the bytes its leaf hash covers.

Every field of the row, in column order, exactly as PostgreSQL stores it
(``docs/audit.md`` shows it byte by byte)::

    position        8 bytes, big-endian signed
    stream_id       4-byte big-endian length, then UTF-8
    stream_version  0x00 (null) | 0x01 then 8 bytes big-endian signed
    type            4-byte big-endian length, then UTF-8
    event_id        0x00 (null) | 0x01 then the 16 bytes of the UUID
    occurred_at     0x00 (null) | 0x01 then 8 bytes big-endian signed: microseconds
                    since 2000-01-01T00:00:00Z (PostgreSQL's own representation)
    recorded_at     8 bytes, as occurred_at (never null)
    payload         0x01 (JSON) then 4-byte length and the UTF-8 text PostgreSQL
                    prints for the jsonb value (``data::text``: keys sorted by
                    length then bytes, one space after ``:`` and ``,``; for a row
                    of the compact format, the jsonb its JSON would have been:
                    ``eventstore/formats.py``, so the bytes do not depend on the
                    format) |
                    0x02 (bytes) then 4-byte length and the ``state`` bytes

The leaf hash is ``SHA-256(0x00 || encoding)``. :func:`encode` computes it in
Python from a row; :func:`leaf_hashes_sql` computes the same bytes inside
PostgreSQL (the sealer's fast path). Tests hold the two to each other.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from analytics_graph.audit.merkle import leaf_hash
from analytics_graph.eventstore.formats import payload_text

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
_Q = struct.Struct(">q")
_I = struct.Struct(">I")

# The raw columns :func:`encode` needs (the payload as jsonb text or bytes; the jsonb of
# a compact row is the one its JSON would have been: eventstore/formats.py).
ROW_COLUMNS = (
    "position, stream_id, stream_version, type, event_id, occurred_at, recorded_at, "
    f"{payload_text()} AS data, state"
)

_PRESENT = b"\x01"
_NULL = b"\x00"
JSON_PAYLOAD = b"\x01"
BYTES_PAYLOAD = b"\x02"


def _text(value: str) -> bytes:
    raw = value.encode()
    return _I.pack(len(raw)) + raw


def _micros(value: datetime) -> bytes:
    return _Q.pack((value - PG_EPOCH) // MICROSECOND)


def encode_fields(
    position: int,
    stream_id: str,
    stream_version: int | None,
    type: str,
    event_id: UUID | None,
    occurred_at: datetime | None,
    recorded_at: datetime,
    data: str | None,
    state: bytes | None,
) -> bytes:
    """The canonical encoding (see the module docstring); ``data`` is the jsonb text."""
    parts = [
        _Q.pack(position),
        _text(stream_id),
        _NULL if stream_version is None else _PRESENT + _Q.pack(stream_version),
        _text(type),
        _NULL if event_id is None else _PRESENT + event_id.bytes,
        _NULL if occurred_at is None else _PRESENT + _micros(occurred_at),
        _micros(recorded_at),
    ]
    if data is not None:
        parts.append(JSON_PAYLOAD + _text(data))
    else:
        assert state is not None, "a stored event has data or state"
        parts.append(BYTES_PAYLOAD + _I.pack(len(state)) + state)
    return b"".join(parts)


class Row(Protocol):
    """A row of :data:`ROW_COLUMNS` (an ``asyncpg.Record`` or a dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


def encode(row: Row, position: int | None = None) -> bytes:
    """The encoding of a row of :data:`ROW_COLUMNS` (at ``position`` if given)."""
    return encode_fields(
        row["position"] if position is None else position,
        row["stream_id"],
        row["stream_version"],
        row["type"],
        row["event_id"],
        row["occurred_at"],
        row["recorded_at"],
        row["data"],
        row["state"],
    )


def hash_row(row: Row, position: int | None = None) -> bytes:
    """The leaf hash of a row of :data:`ROW_COLUMNS`."""
    return leaf_hash(encode(row, position))


def _sql_text(column: str) -> str:
    return f"int4send(octet_length({column})) || {column}"


def _sql_optional(column: str, send: str) -> str:
    return f"CASE WHEN {column} IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || {send} END"


# Each text converted once (jsonb_out is most of the cost): `s`, `t`, `d` are the UTF-8
# bytes of stream_id, type and data::text.
_LEAF_INPUTS = f"""position, stream_version, event_id, occurred_at, recorded_at, state,
    convert_to(stream_id, 'UTF8') AS s, convert_to(type, 'UTF8') AS t,
    convert_to({payload_text()}, 'UTF8') AS d"""
_LEAF_HASH = f"""sha256('\\x00'::bytea
    || int8send(position)
    || {_sql_text("s")}
    || {_sql_optional("stream_version", "int8send(stream_version)")}
    || {_sql_text("t")}
    || {_sql_optional("event_id", "uuid_send(event_id)")}
    || {_sql_optional("occurred_at", "timestamptz_send(occurred_at)")}
    || timestamptz_send(recorded_at)
    || CASE WHEN d IS NOT NULL
        THEN '\\x01'::bytea || {_sql_text("d")}
        ELSE '\\x02'::bytea || int4send(length(state)) || state END)"""


def leaf_hashes_sql(condition: str, limit: str = "ALL") -> str:
    """A statement yielding ``position, leaf`` (the same bytes, hashed by PostgreSQL)
    for the events matching ``condition``, in log order, at most ``limit``."""
    return (
        f"SELECT position, {_LEAF_HASH} AS leaf FROM ("
        f"SELECT {_LEAF_INPUTS} FROM events WHERE {condition} "
        f"ORDER BY position LIMIT {limit}) inputs ORDER BY position"
    )
