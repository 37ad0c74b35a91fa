"""Tables as an XLSX workbook: one sheet per table, written by XlsxWriter.

The workbook is written in XlsxWriter's constant-memory mode (each row goes to a
temporary file as soon as it is written), so memory does not grow with the rows.
Cells are typed: dates are date cells (``yyyy-mm-dd``), times are date-time
cells in UTC (``yyyy-mm-dd hh:mm:ss``; Excel has no time zones), numbers are
numbers, text is text (never read as a formula or a number). Every sheet has its
header row in bold and frozen, and its columns' widths set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from analytics_graph.export.tables import Cell, Table

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
PROGRESS_EVERY = 1_000


def write_workbook(
    tables: Sequence[Table],
    path: Path,
    *,
    title: str = "",
    on_rows: Callable[[int], None] | None = None,
) -> None:
    """Writes ``tables`` to a new workbook at ``path`` (blocking: run it in a thread
    where an event loop is waiting); ``on_rows(n)`` is told of rows as they go."""
    options = {"constant_memory": True, "tmpdir": str(path.parent), "remove_timezone": True}
    workbook = xlsxwriter.Workbook(str(path), options)
    try:
        workbook.set_properties({"title": title, "comments": "analytics-graph export"})
        formats = _Formats(workbook)
        for table in tables:
            _sheet(workbook.add_worksheet(table.title), table, formats, on_rows)
    finally:
        workbook.close()


class _Formats:
    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.header = workbook.add_format({"bold": True})
        self.date = workbook.add_format({"num_format": DATE_FORMAT})
        self.datetime = workbook.add_format({"num_format": DATETIME_FORMAT})


def _sheet(
    sheet: Worksheet, table: Table, formats: _Formats, on_rows: Callable[[int], None] | None
) -> None:
    for index, column in enumerate(table.columns):
        sheet.set_column(index, index, column.width)
    sheet.freeze_panes(1, 0)
    for index, column in enumerate(table.columns):
        sheet.write_string(0, index, column.name, formats.header)
    row_number = 0
    for row_number, row in enumerate(table.rows(), start=1):
        for index, cell in enumerate(row):
            _write(sheet, row_number, index, cell, formats)
        if on_rows is not None and row_number % PROGRESS_EVERY == 0:
            on_rows(PROGRESS_EVERY)
    if on_rows is not None and row_number % PROGRESS_EVERY:
        on_rows(row_number % PROGRESS_EVERY)


def _write(sheet: Worksheet, row: int, column: int, cell: Cell, formats: _Formats) -> Any:
    if cell is None:
        return None
    if isinstance(cell, str):
        return sheet.write_string(row, column, cell)
    if isinstance(cell, datetime):
        return sheet.write_datetime(row, column, cell.astimezone(UTC), formats.datetime)
    if isinstance(cell, date):
        return sheet.write_datetime(row, column, cell, formats.date)
    return sheet.write_number(row, column, cell)
