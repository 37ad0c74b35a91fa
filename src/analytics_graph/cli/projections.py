"""``analytics-graph projections status`` and ``analytics-graph projections rebuild NAME``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

import projections
from analytics_graph.cli.settings import settings
from analytics_graph.projection.rebuild import rebuild
from analytics_graph.projection.status import ProjectionStatus, status

app = typer.Typer(no_args_is_help=True, help="Projection positions, lag and rebuilds.")


def _age(lag: timedelta | None) -> str:
    return "-" if lag is None else f"{lag.total_seconds():.1f}s"


def _version(row: ProjectionStatus) -> str:
    if row.live_version is None:
        return f"(none; code v{row.code_version})"
    if row.live_version != row.code_version:
        return f"v{row.live_version} (code v{row.code_version}: rebuild due)"
    return f"v{row.live_version}"


def status_table(rows: list[ProjectionStatus]) -> Table:
    """The rows of ``projections status`` as a table."""
    table = Table("projection", "version", "position", "lag (events)", "lag (age)", "rebuild")
    for row in rows:
        building = "-"
        if row.build_version is not None:
            building = f"v{row.build_version} at {row.build_position}"
        table.add_row(
            row.name,
            _version(row),
            "-" if row.position is None else str(row.position),
            str(row.lag_events),
            _age(row.lag_time),
            building,
        )
    return table


@app.command("status")
def status_command() -> None:
    """Print each projection's version, position and lag behind the log."""
    from analytics_graph.bootstrap import open_system

    async def run() -> list[ProjectionStatus]:
        async with (
            open_system(settings(), run_projections=False) as system,
            system.pool.acquire() as conn,
        ):
            return await status(conn, projections.ALL)

    Console(width=120).print(status_table(asyncio.run(run())))


@app.command("rebuild")
def rebuild_command(
    name: str = typer.Argument(..., help="The projection to rebuild (see `status`)."),
) -> None:
    """Rebuild a projection from position 0 into fresh tables, then swap them in.

    Queries keep reading the old tables until the swap. Safe while `serve` runs.
    """
    from analytics_graph.bootstrap import open_system

    try:
        projection = projections.by_name(name)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="NAME") from None
    console = Console(stderr=True)

    async def run() -> int:
        async with open_system(settings(), run_projections=False) as system:
            with Progress(
                TextColumn(f"rebuilding {name}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as bar:
                task = bar.add_task(name, total=None)
                return await rebuild(
                    system.url,
                    system.store,
                    projection,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                    on_waiting=lambda: console.print("waiting for another rebuild to finish..."),
                )

    position = asyncio.run(run())
    typer.echo(f"{name} v{projection.version} rebuilt and swapped in at position {position}")
