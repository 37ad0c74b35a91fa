"""A table as CSV (RFC 4180), produced in chunks while it is sent.

A header row of the columns' names, then one line per row, ``CRLF`` line ends,
fields quoted when they hold a comma, a double quote (doubled) or a line break;
UTF-8 without a byte order mark. Dates and times are ISO 8601 as GraphQL writes
them, numbers as GraphQL writes them (floats in their shortest exact form), a
missing value is an empty field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date

from analytics_graph.export.tables import Cell, Table

MEDIA_TYPE = "text/csv; charset=utf-8; header=present"
CHUNK_CHARS = 64 * 1024


def _text(cell: Cell) -> str | int | float | None:
    return cell.isoformat() if isinstance(cell, date) else cell  # datetime is a date too


def csv_chunks(
    table: Table, on_rows: Callable[[int], None] | None = None, chunk_chars: int = CHUNK_CHARS
) -> Iterator[bytes]:
    """The table as CSV bytes, about ``chunk_chars`` at a time; ``on_rows(n)`` is told
    of every ``n`` rows written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.name for c in table.columns])
    pending = 0
    for row in table.rows():
        writer.writerow([_text(cell) for cell in row])
        pending += 1
        if buffer.tell() >= chunk_chars:
            yield _drain(buffer)
            if on_rows is not None:
                on_rows(pending)
            pending = 0
    yield _drain(buffer)
    if on_rows is not None and pending:
        on_rows(pending)


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()
