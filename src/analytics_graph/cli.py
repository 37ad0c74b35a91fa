"""The ``analytics-graph`` command line."""

from __future__ import annotations

import asyncio

import typer
import uvicorn

from analytics_graph.bootstrap import open_system
from analytics_graph.config import Settings
from analytics_graph.projection.cli import app as projections_app

cli = typer.Typer(no_args_is_help=True, help="Event-sourced creator analytics.")
cli.add_typer(projections_app, name="projections")


def _settings() -> Settings:
    try:
        return Settings.from_environ()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Migrate, start the projections and serve the HTTP app."""
    from analytics_graph.app import create_app

    uvicorn.run(create_app(_settings()), host=host, port=port, log_level="info")


@cli.command("migrate")
def migrate_command() -> None:
    """Apply the schema migrations (safe to run twice, or from two processes)."""

    async def run() -> None:
        async with open_system(_settings()):
            pass

    asyncio.run(run())
    typer.echo("migrations applied")


@cli.command("ingest")
def ingest_command(
    source: str = typer.Argument(..., metavar="FILE|-", help="NDJSON file, or - for stdin."),
    batch_size: int = typer.Option(10_000, min=1, help="Lines validated and written together."),
    skip_invalid: bool = typer.Option(
        False, help="Write the valid lines of a batch that has invalid ones."
    ),
) -> None:
    """Bulk-ingest NDJSON engagement events, with progress and a summary.

    Exit status: 0 all accepted (or duplicates), 1 some line rejected, 2 the
    input cannot be read, 3 the database failed.
    """
    from analytics_graph.ingest.command import run

    settings = _settings()
    if batch_size > settings.max_ingest_batch:
        raise typer.BadParameter(f"at most {settings.max_ingest_batch}", param_hint="--batch-size")
    raise typer.Exit(run(settings, source, batch_size=batch_size, skip_invalid=skip_invalid))


def main() -> None:
    cli()
