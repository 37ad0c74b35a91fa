"""``analytics-graph partitions ...``: the log's partitions by position range.

``list``, ``create`` (partitions ahead of the log), ``export`` (an old partition to
Parquet with its Merkle proofs), ``verify`` (such a file, offline) and ``detach``
(against its verified export). Exit status as ``audit``: 0 fine, 1 a check failed or
the operation was refused, 2 unusable input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from analytics_graph.audit import archive
from analytics_graph.audit.cli import FAILED, fail, run, settings
from analytics_graph.audit.heads import TreeHead
from analytics_graph.eventstore import partitions

app = typer.Typer(no_args_is_help=True, help="The log's partitions: list, create, export, detach.")


def _state(part: partitions.Partition, next_position: int) -> str:
    if part.holds(next_position):
        return "filling"
    return "ahead" if next_position < (part.lower or 0) else "closed"


@app.command("list")
def list_command() -> None:
    """Print the attached partitions: name, positions, rows (estimated), size."""

    async def read(conn: asyncpg.Connection) -> tuple[list[partitions.Partition], int]:
        return await partitions.attached(conn), await partitions.last_drawn(conn)

    found, drawn = run(settings(), read)
    table = Table("partition", "positions", "rows (est.)", "size", "state")
    for part in found:
        state = (
            "filling"
            if part.holds(drawn + 1)
            else "ahead"
            if drawn + 1 < (part.lower or 0)
            else "closed"
        )
        low = "first" if part.lower is None else f"{part.lower:,}"
        table.add_row(
            part.name,
            f"{low} .. {part.upper - 1:,}",
            "-" if part.estimate < 0 else f"{part.estimate:,}",
            f"{part.bytes / 2**20:,.1f} MiB",
            state,
        )
    Console().print(table)


@app.command("create")
def create_command(
    ahead: Annotated[int, typer.Option(min=1, help="Empty partitions to keep ahead.")] = 2,
    size: Annotated[
        int, typer.Option(min=1, help="Positions per new partition.")
    ] = partitions.DEFAULT_SIZE,
) -> None:
    """Create partitions until AHEAD of them lie beyond the log's last position."""

    async def create(conn: asyncpg.Connection) -> list[str]:
        return await partitions.create_ahead(conn, ahead, size)

    added = run(settings(), create)
    typer.echo(f"created {', '.join(added)}" if added else f"{ahead} partitions ahead already")


@app.command("export")
def export_command(
    name: Annotated[str, typer.Argument(help="The partition, e.g. events_0.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The Parquet file to write.")],
) -> None:
    """Write a closed, sealed partition with its leaf hashes, inclusion proofs and the
    signed head to Parquet (checkable with ``partitions verify``)."""

    async def write(conn: asyncpg.Connection) -> tuple[int, TreeHead]:
        return await archive.export_partition(conn, name, output)

    try:
        count, head = run(settings(), write)
    except archive.ArchiveError as exc:
        raise fail(str(exc), FAILED) from exc
    typer.echo(f"{count} events of {name} written to {output}, proven against the head of "
               f"size {head.tree_size}")  # fmt: skip


@app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(help="A file written by ``partitions export``.")],
    public_key: Annotated[
        str | None, typer.Option(help="The signer's public key (hex) the head must carry.")
    ] = None,
) -> None:
    """Check an exported partition offline: signature, every leaf, every proof."""
    try:
        key = None if public_key is None else bytes.fromhex(public_key)
        report = archive.verify_file(file, key)
    except (OSError, ValueError) as exc:
        raise fail(f"{file}: {exc}") from exc
    for problem in report.problems:
        typer.echo(f"FAILED: {problem}", err=True)
    if not report.ok:
        raise typer.Exit(FAILED)
    assert report.head is not None
    typer.echo(f"{report.events} events of {report.partition['name']} verified against the "
               f"head of size {report.head.tree_size}")  # fmt: skip


@app.command("detach")
def detach_command(
    name: Annotated[str, typer.Argument(help="The partition to detach.")],
    export: Annotated[Path, typer.Option("--export", help="Its file from ``partitions export``.")],
) -> None:
    """Detach a partition from the log once its export verifies and holds all of it
    (the table stays, detached: drop it once the file is archived)."""

    async def run_detach(conn: asyncpg.Connection) -> int:
        return await archive.detach(conn, name, export)

    try:
        count = run(settings(), run_detach)
    except archive.ArchiveError as exc:
        raise fail(str(exc), FAILED) from exc
    typer.echo(f"{name} ({count} events) detached; DROP TABLE {name} once {export} is archived")
