"""The ``analytics-graph`` command line: ``serve``, ``migrate``, ``ingest``, ``token``,
``export-schema`` here; ``projections ...`` in ``projections.py``, ``partitions ...`` in
``partitions.py``. Settings are read in one place (``settings.py``).

The groups of commands (``projections``, ``audit``, ``partitions``, ``export``) and
what a command needs are imported when it runs: ``analytics-graph ingest``, which collectors start
often, then starts without loading the GraphQL API (about a second of CPU)."""

from __future__ import annotations

import asyncio
import importlib
from typing import Annotated, Final
from uuid import UUID

import typer
from typer._click import Command, Context  # typer's own copy of click
from typer.core import TyperGroup

from analytics_graph.auth import Role, issue_token, signing_secret
from analytics_graph.cli.settings import settings

# name -> the module whose ``app`` (a Typer) it is
GROUPS: Final = {
    "projections": "analytics_graph.cli.projections",
    "audit": "analytics_graph.audit.cli",
    "partitions": "analytics_graph.cli.partitions",
    "export": "analytics_graph.export.cli",
}


class _LazyGroups(TyperGroup):
    """Loads a group of :data:`GROUPS` when it is asked for (to run it, or for help)."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *(g for g in GROUPS if g not in self.commands)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in GROUPS and cmd_name not in self.commands:
            group = typer.main.get_command(importlib.import_module(GROUPS[cmd_name]).app)
            group.name = cmd_name
            self.commands[cmd_name] = group
        return super().get_command(ctx, cmd_name)


cli = typer.Typer(no_args_is_help=True, help="Event-sourced creator analytics.", cls=_LazyGroups)


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    demo: bool = typer.Option(
        False, help="Load the demo data set into an empty log; print a creator token."
    ),
) -> None:
    """Migrate, start the projections and serve the HTTP app.

    A first start on an empty embedded database loads the demo data set too.
    """
    from analytics_graph.app import create_app
    from analytics_graph.demo import on_ready
    from analytics_graph.server import run_server

    config = settings()
    ready = on_ready(f"http://{host}:{port}", forced=demo)
    run_server(config, create_app(config, ready), host, port)


@cli.command("token")
def token_command(
    role: Annotated[Role, typer.Option(help="creator, ingest, auditor or admin.")],
    account: str | None = typer.Option(None, help="The account id (required for creator)."),
    ttl_hours: int = typer.Option(24 * 30, min=1, help="Hours until the token expires."),
) -> None:
    """Print a bearer token (the token alone on standard output)."""
    if role is Role.CREATOR and account is None:
        raise typer.BadParameter("required for the creator role", param_hint="--account")
    try:
        account_id = None if account is None else UUID(account)
    except ValueError:
        raise typer.BadParameter(
            f"{account!r} is not an account id", param_hint="--account"
        ) from None
    secret = signing_secret(settings())
    typer.echo(issue_token(secret, role, account_id, ttl_seconds=ttl_hours * 3600))


@cli.command("export-schema")
def export_schema_command() -> None:
    """Print the GraphQL schema as SDL (what schema.graphql holds)."""
    from analytics_graph.api.schema import export_sdl

    typer.echo(export_sdl(), nl=False)


@cli.command("migrate")
def migrate_command() -> None:
    """Apply the schema migrations (safe to run twice, or from two processes)."""

    from analytics_graph.bootstrap import open_system

    async def run() -> None:
        async with open_system(settings()):
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
    writers: int = typer.Option(
        1,
        min=1,
        max=8,
        help="Processes, each on a contiguous part of FILE; from stdin, appends at once;"
        " with --url, requests at once.",
    ),
    url: str | None = typer.Option(None, help="Post to this server's /ingest instead."),
    token: str | None = typer.Option(None, help="With --url: an ingest or admin token."),
) -> None:
    """Bulk-ingest NDJSON engagement events, with progress and a summary.

    With --writers N (N > 1) a regular FILE is cut into N parts at line starts,
    each ingested by its own process in batches counted from the part's start;
    lines keep their numbers in FILE, each part reaches the log in file order and
    the parts interleave. Exit status: 0 all accepted (or duplicates), 1 some line
    rejected, 2 the input cannot be read, 3 the database failed (in any part).
    """
    from analytics_graph.ingest.command import run

    config = settings()
    if batch_size > config.max_ingest_batch:
        raise typer.BadParameter(f"at most {config.max_ingest_batch}", param_hint="--batch-size")
    raise typer.Exit(
        run(
            config,
            source,
            batch_size=batch_size,
            skip_invalid=skip_invalid,
            writers=writers,
            url=url,
            token=token,
        )
    )


def main() -> None:
    cli()
