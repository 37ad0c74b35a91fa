"""The ``analytics-graph`` command line."""

from __future__ import annotations

import asyncio

import typer
import uvicorn

from analytics_graph.bootstrap import open_system
from analytics_graph.config import Settings

cli = typer.Typer(no_args_is_help=True, help="Event-sourced creator analytics.")


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


def main() -> None:
    cli()
