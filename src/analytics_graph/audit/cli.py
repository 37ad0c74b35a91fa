"""``analytics-graph audit ...``: heads, verification, replay and export for auditors.

Exit status: 0 when everything holds, 1 when the log fails a check (or there is
nothing to show yet), 2 for unusable input (a bad argument, an unreadable file,
no database).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID

import asyncpg
import typer

from analytics_graph.audit import export, replay, tree
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


def _subjects(account: str | None, video: str | None) -> replay.Subjects | None:
    try:
        return (
            None
            if account is None and video is None
            else replay.Subjects(
                accounts=[str(UUID(account))] if account else [],
                videos=[str(UUID(video))] if video else [],
            )
        )
    except ValueError:
        raise fail("--account/--video: an id (UUID)") from None


async def _replay(
    config: Settings, as_of: str | None, chosen: replay.Subjects | None, days: str | None,
    comparing: bool,
) -> tuple[int, replay.Subjects, dict[tuple[str, str], Any], replay.Comparison | None]:  # fmt: skip
    async with database_url(config) as url, connected(config) as live:
        live_config = dataclasses.replace(config, database_url=url)
        if as_of is None:
            position = await replay.live_point(live)
        else:
            position = await replay.resolve_point(live, as_of)
        subjects = chosen or await replay.every_subject(live, position)
        span = replay.parse_range(days) if days else await replay.default_range(live, position)
        ours = await replay.replayed(config, live, url, position, subjects, span)
        if not comparing:
            return position, subjects, ours, None
        theirs = await replay.live_answers(live_config, subjects, span)
        return position, subjects, ours, replay.compare(ours, theirs)


@app.command("replay")
def replay_command(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="POSITION or TIMESTAMP (ISO 8601); --compare: live point."),
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    video: Annotated[str | None, typer.Option(help="Only this video.")] = None,
    days: Annotated[
        str | None, typer.Option("--range", help="START:END days (default: all the log's).")
    ] = None,
    comparing: Annotated[
        bool, typer.Option("--compare", help="Compare every number with the live read models.")
    ] = False,
) -> None:
    """Rebuild every projection from position 0 up to a point (same projection code, a
    scratch database) and print what the API would have answered then, as JSON."""
    if as_of is None and not comparing:
        raise fail("--as-of POSITION|TIMESTAMP is required (or --compare)")
    config, chosen = settings(), _subjects(account, video)
    try:
        position, subjects, ours, comparison = asyncio.run(
            _replay(config, as_of, chosen, days, comparing)
        )
    except replay.ReplayError as exc:
        raise fail(str(exc)) from exc
    except (OSError, asyncpg.PostgresError, AnalyticsGraphError) as exc:
        raise fail(f"the database cannot be used: {exc}") from exc
    if comparison is not None:
        typer.echo(f"as of position {position}: {comparison.compared} numbers compared, "
                   f"{len(comparison.differences)} differ")  # fmt: skip
        for difference in comparison.differences[:50]:
            typer.echo(f"DIFFERS: {difference}", err=True)
        raise typer.Exit(FAILED if comparison.differences else OK)
    if len(ours) == 1:
        print_json(next(iter(ours.values())))
        return
    print_json(
        {
            "asOf": position,
            "accounts": {i: ours[("account", i)] for i in subjects.accounts},
            "videos": {i: ours[("video", i)] for i in subjects.videos},
        }
    )


@app.command("export")
def export_command(
    start: Annotated[int, typer.Option("--from", min=0, help="First position.")],
    end: Annotated[int, typer.Option("--to", min=0, help="Last position (inclusive).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write.")],
    file_format: Annotated[str, typer.Option("--format", help="ndjson or parquet.")] = "ndjson",
) -> None:
    """Write the sealed events of a range with their leaf hashes, inclusion proofs and
    the signed head they lead to (checkable offline; docs/audit.md)."""
    if file_format not in export.FORMATS:
        raise fail(f"--format: one of {', '.join(export.FORMATS)}, not {file_format!r}")
    if end < start:
        raise fail("--to: at or after --from")

    async def write(conn: asyncpg.Connection) -> tuple[int, TreeHead]:
        if file_format == "parquet":
            return await export.write_parquet(conn, start, end, output)
        with output.open("w", encoding="utf-8") as file:
            return await export.write_ndjson(conn, start, end, file)

    try:
        count, head = run(settings(), write)
    except export.ExportError as exc:
        raise fail(str(exc), FAILED) from exc
    except OSError as exc:
        raise fail(f"-o {output}: {exc}") from exc
    typer.echo(f"{count} events written to {output}, proven against the head of size "
               f"{head.tree_size}")  # fmt: skip
