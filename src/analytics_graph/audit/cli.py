"""``analytics-graph audit ...``: heads, verification, replay and export for auditors.

Exit status: 0 when everything holds, 1 when the log fails a check (or there is
nothing to show yet), 2 for unusable input (a bad argument, an unreadable file,
no database).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer

from analytics_graph.audit import tree
from analytics_graph.audit.heads import TreeHead, signer
from analytics_graph.audit.sealer import catch_up
from analytics_graph.audit.verify import verify
from analytics_graph.config import Settings
from analytics_graph.database import database_url
from analytics_graph.errors import AnalyticsGraphError
from analytics_graph.eventstore.schema import migrate

app = typer.Typer(no_args_is_help=True, help="Signed heads, verification, replay and export.")
OK, FAILED, UNUSABLE = 0, 1, 2
T = TypeVar("T")


def fail(message: str, status: int = UNUSABLE) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(status)


def settings() -> Settings:
    try:
        return Settings.from_environ()
    except ValueError as exc:
        raise fail(str(exc)) from exc


@contextlib.asynccontextmanager
async def connected(config: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A migrated connection to the configured (or embedded) database."""
    async with database_url(config) as url:
        conn = await asyncpg.connect(url, server_settings={"jit": "off", "TimeZone": "UTC"})
        try:
            await migrate(conn)
            yield conn
        finally:
            await conn.close()


def run(config: Settings, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Runs ``work`` on a connection; a database that cannot be reached exits with 2."""

    async def main() -> T:
        async with connected(config) as conn:
            return await work(conn)

    try:
        return asyncio.run(main())
    except (OSError, asyncpg.PostgresError, AnalyticsGraphError) as exc:
        raise fail(f"the database cannot be used: {exc}") from exc


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@app.command("head")
def head_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the head as JSON.")] = False,
) -> None:
    """Print the latest signed tree head (with --json: the file an auditor keeps)."""
    head = run(settings(), tree.latest_head)
    if head is None:
        raise fail("no signed head yet: nothing is sealed", FAILED)
    if as_json:
        print_json(head.to_json())
        return
    for key, value in head.to_json().items():
        typer.echo(f"{key}: {value}")
    typer.echo(f"signature valid: {'yes' if head.valid() else 'NO'}")


def read_head(path: Path) -> TreeHead:
    try:
        return TreeHead.from_json(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise fail(f"--head {path}: not a tree head ({exc})") from exc


@app.command("verify")
def verify_command(
    head: Annotated[
        Path | None, typer.Option("--head", help="A head kept earlier (audit head --json).")
    ] = None,
) -> None:
    """Recompute every leaf and the tree from the log; check every stored head and
    signature; with --head, prove that today's log extends the kept head."""
    kept = None if head is None else read_head(head)
    report = run(settings(), lambda conn: verify(conn, kept))
    typer.echo(f"{report.events} sealed events recomputed, {report.heads} signed heads checked")
    if kept is not None and report.ok:
        typer.echo(f"the log extends the kept head of size {kept.tree_size}")
    if report.ok:
        typer.echo("the log verifies")
        return
    for finding in report.findings:
        typer.echo(f"FAILED: {finding}", err=True)
    raise typer.Exit(FAILED)


@app.command("seal")
def seal_command(
    batch_size: Annotated[int, typer.Option(min=1, help="Most events per batch.")] = 100_000,
) -> None:
    """Seal what the log holds now (the server's sealer does this continuously)."""
    config = settings()

    async def seal() -> int:
        async with database_url(config) as url, connected(config):  # migrated first
            return await catch_up(url, signer(config), batch_size)

    try:
        size = asyncio.run(seal())
    except (OSError, asyncpg.PostgresError, AnalyticsGraphError) as exc:
        raise fail(f"the database cannot be used: {exc}") from exc
    typer.echo(f"sealed: {size} events")


def main() -> None:  # pragma: no cover - for python -m analytics_graph.audit.cli
    sys.exit(app())
