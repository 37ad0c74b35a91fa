"""``analytics-graph export account ID`` and ``analytics-graph export video ID``.

Writes the file the HTTP export of the same parameters answers (same tables,
same bytes for CSV), straight from the database the settings name; the file name
defaults to the one the HTTP answer suggests, ``-`` writes to standard output.
A progress bar shows on a terminal. Exit status: 0 written, 1 no such account or
video, or not a Pro account, 2 bad parameters.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from analytics_graph.api.types.ranges import Period
from analytics_graph.bootstrap import open_system
from analytics_graph.config import Settings
from analytics_graph.export import csvfile, xlsxfile
from analytics_graph.export.files import Numbers, file_name, tables_of
from analytics_graph.export.reading import account_numbers, owner, read_state, video_numbers
from analytics_graph.export.request import (
    BadParameter,
    ExportRequest,
    Format,
    Kind,
    Section,
    days_of,
)
from analytics_graph.export.tables import Table
from analytics_graph.types import Connection

app = typer.Typer(
    no_args_is_help=True, help="Export an account's or a video's analytics as CSV or XLSX."
)

RangeOption = Annotated[Period | None, typer.Option("--range", help="A preset ending today (UTC).")]
StartOption = Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), with --end.")]
EndOption = Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD, inclusive).")]
FormatOption = Annotated[Format, typer.Option("--format", help="csv or xlsx.")]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "-o",
        "--output",
        help="The file to write (- for standard output).",
        show_default="the suggested name",
    ),
]


@app.command("account")
def account_command(
    id: Annotated[str, typer.Argument(help="The account id.")],
    range: RangeOption = None,
    start: StartOption = None,
    end: EndOption = None,
    format: FormatOption = Format.CSV,
    section: Annotated[
        Section | None, typer.Option(help="CSV only: overview (default), content or followers.")
    ] = None,
    output: OutputOption = None,
) -> None:
    """An account's Overview, Content and Followers (the last 28 days by default)."""
    _export(Kind.ACCOUNT, id, range, start, end, format, section, output)


@app.command("video")
def video_command(
    id: Annotated[str, typer.Argument(help="The video id.")],
    range: RangeOption = None,
    start: StartOption = None,
    end: EndOption = None,
    format: FormatOption = Format.CSV,
    output: OutputOption = None,
) -> None:
    """A video's totals, daily and first-48-hours series, traffic sources, search terms
    and retention (its whole life by default)."""
    _export(Kind.VIDEO, id, range, start, end, format, None, output)


def _export(
    kind: Kind,
    id: str,
    range: Period | None,
    start: str | None,
    end: str | None,
    format: Format,
    section: Section | None,
    output: str | None,
) -> None:
    request = _request(kind, id, range, start, end, format, section)
    try:
        settings = Settings.from_environ()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    numbers = asyncio.run(_read(settings, request))
    if isinstance(numbers, str):
        typer.echo(f"error: {numbers}", err=True)
        raise typer.Exit(1)
    target = output or file_name(request, numbers)
    tables = tables_of(request, numbers)
    rows = _write(request.format, tables, target, file_name(request, numbers))
    if target != "-":
        typer.echo(f"wrote {target} ({rows} rows)", err=True)


def _request(
    kind: Kind,
    id: str,
    range: Period | None,
    start: str | None,
    end: str | None,
    format: Format,
    section: Section | None,
) -> ExportRequest:
    try:
        uuid = UUID(id)
    except ValueError:
        raise typer.BadParameter(f"{id!r} is not an id", param_hint="ID") from None
    given = {"range": range.name if range else None, "start": start, "end": end}
    today = datetime.now(UTC).date()
    try:
        days = days_of({k: v for k, v in given.items() if v is not None}, today)
        return ExportRequest.of(kind, uuid, format, days, section, today=today)
    except BadParameter as error:
        raise typer.BadParameter(error.reason, param_hint=f"--{error.parameter}") from None


async def _read(settings: Settings, request: ExportRequest) -> Numbers | str:
    """The numbers to export (read from a replica when one is configured), or why
    there are none."""

    async def numbers(conn: Connection) -> Numbers | str:
        account = await owner(conn, request)
        if account is None:
            return (
                f"no {'account' if request.kind is Kind.ACCOUNT else 'video'} with id {request.id}"
            )
        if not account.is_pro:
            return f"account {account.id} is not a Pro account: it has no analytics to export"
        if request.kind is Kind.VIDEO:
            return await video_numbers(conn, account, request.id, request.days)
        assert request.days is not None
        return await account_numbers(conn, account, request.days, request.section)

    async with open_system(settings, run_projections=False) as system:
        found, _ = await read_state(system.services.reads, {}, numbers)
        return found


def _write(format: Format, tables: list[Table], target: str, title: str) -> int:
    """Writes the file, with a progress bar on a terminal; the number of rows written."""
    total = sum(t.size for t in tables)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(f"exporting {title}", total=total)

        def advance(rows: int) -> None:
            bar.advance(task, rows)

        if format is Format.CSV:
            _write_csv(tables[0], target, advance)
        else:
            _write_xlsx(tables, target, title, advance)
    return total


def _write_csv(table: Table, target: str, advance: Callable[[int], None]) -> None:
    if target == "-":
        for chunk in csvfile.csv_chunks(table, advance):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    with open(target, "wb") as file:
        for chunk in csvfile.csv_chunks(table, advance):
            file.write(chunk)


def _write_xlsx(
    tables: list[Table], target: str, title: str, advance: Callable[[int], None]
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="analytics-graph-export-"))
    try:
        path = folder / title
        xlsxfile.write_workbook(tables, path, title=title, on_rows=advance)
        if target == "-":
            with path.open("rb") as file:
                shutil.copyfileobj(file, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            shutil.move(path, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
