"""``analytics-graph ingest FILE|-``: bulk ingest of NDJSON with progress and a summary.

Each batch of lines is validated whole; by default a batch with any invalid
line is not written at all (and reported so), with ``skip_invalid`` its valid
lines are written. Validation of the next batch overlaps the append of the
previous one; appends stay in file order, so the log holds the lines in file
order. Exit status: 0 when every line was accepted or a duplicate, 1 when any
line was rejected, 2 when the input cannot be opened, 3 when the store failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import asyncpg
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from analytics_graph.collector import quiet_collector
from analytics_graph.config import Settings
from analytics_graph.errors import AnalyticsGraphError, StoreError
from analytics_graph.ingest.ndjson import LineBatch, read_batches
from analytics_graph.ingest.rejections import Rejection
from analytics_graph.ingest.service import Ingestor, IngestOutcome
from analytics_graph.observability import metrics
from analytics_graph.storage import open_store

SHOWN_REJECTIONS = 20
EXIT_REJECTED, EXIT_UNREADABLE, EXIT_STORE = 1, 2, 3


@dataclass(slots=True)
class Summary:
    """Totals of one ingest run."""

    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    shown: list[Rejection] = field(default_factory=list)
    refused_batches: list[tuple[LineBatch, int]] = field(default_factory=list)
    failure: str | None = None

    def add(self, batch: LineBatch, outcome: IngestOutcome) -> None:
        metrics.count_ingest("cli", outcome)
        self.lines += len(batch.lines)
        self.accepted += outcome.accepted
        self.duplicates += outcome.duplicates
        self.rejected += len(outcome.rejections)
        room = SHOWN_REJECTIONS - len(self.shown)
        self.shown.extend(outcome.rejections[: max(room, 0)])
        if outcome.rejected_whole:
            self.refused_batches.append((batch, outcome.not_written))

    def report(self) -> Iterator[str]:
        """The lines of the closing summary."""
        yield f"lines read: {self.lines}"
        yield f"accepted: {self.accepted}"
        yield f"duplicates: {self.duplicates}"
        yield f"rejected: {self.rejected}"
        for rejection in self.shown:
            yield "  " + rejection.describe("line")
        if self.rejected > len(self.shown):
            yield f"  ... and {self.rejected - len(self.shown)} more rejected lines"
        for batch, not_written in self.refused_batches:
            yield (
                f"batch of lines {batch.first_line}-{batch.last_line} was rejected whole:"
                f" nothing of it was written ({not_written} valid lines not written;"
                " --skip-invalid writes the valid lines of such batches)"
            )
        if self.failure:
            yield f"stopped: {self.failure}"

    @property
    def exit_code(self) -> int:
        if self.failure:
            return EXIT_STORE
        return EXIT_REJECTED if self.rejected else 0


async def ingest_stream(
    ingestor: Ingestor,
    stream: IO[bytes],
    *,
    batch_size: int,
    skip_invalid: bool = False,
    writers: int = 1,
    progress: Progress | None = None,
    task: TaskID | None = None,
) -> Summary:
    """Ingests every batch of ``stream``; returns the totals (stops at a store failure).

    Up to ``writers`` appends run at once while the next batch is validated; with
    one, batches reach the log in file order, with more, the batches in flight
    may commit in any order among themselves (each keeps its lines' order).
    """
    summary = Summary()
    pending: deque[tuple[LineBatch, asyncio.Task[IngestOutcome]]] = deque()
    try:
        for batch in read_batches(stream, batch_size):
            validation = await ingestor.validator.lines(batch.lines, first_line=batch.first_line)
            while len(pending) >= writers:
                done, write = pending.popleft()
                summary.add(done, await write)
            write = asyncio.create_task(ingestor.write(validation, skip_invalid=skip_invalid))
            pending.append((batch, write))
            if progress is not None and task is not None:
                progress.update(task, advance=batch.nbytes, lines=batch.last_line)
        while pending:
            done, write = pending.popleft()
            summary.add(done, await write)
    except StoreError as exc:
        summary.failure = str(exc)
        while pending:  # appends already under way may still succeed
            done, write = pending.popleft()
            with contextlib.suppress(StoreError):
                summary.add(done, await write)
    return summary


def _progress(console: Console, total: int | None) -> Progress:
    if total is None:
        columns = (TextColumn("ingesting"), TextColumn("{task.fields[lines]} lines"))
        return Progress(*columns, console=console, transient=True)
    return Progress(
        TextColumn("ingesting"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[lines]} lines"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


@contextlib.contextmanager
def _batch_work() -> Iterator[None]:
    """Keeps the garbage collector off the hot path: everything loaded so far is frozen
    out of its scans, and young collections run ten times less often. Each batch's
    objects are acyclic and freed by reference counting."""
    with quiet_collector(gc.get_threshold()[0] * 10):
        yield


async def _run(settings: Settings, stream: IO[bytes], total: int | None, **options: int) -> Summary:
    console = Console(stderr=True)
    # Projections are the server's work (`serve`); this process only writes the log.
    async with open_store(settings) as opened:
        ingestor = Ingestor.configured(opened.store, settings)
        with _progress(console, total) as progress, _batch_work():
            task = progress.add_task("ingest", total=total, lines=0)
            return await ingest_stream(
                ingestor,
                stream,
                batch_size=options["batch_size"],
                skip_invalid=bool(options["skip_invalid"]),
                writers=options.get("writers", 1),
                progress=progress,
                task=task,
            )


def run(
    settings: Settings,
    source: str,
    *,
    batch_size: int,
    skip_invalid: bool,
    writers: int = 1,
    url: str | None = None,
    token: str | None = None,
) -> int:
    """Ingests ``source`` (a path, or ``-`` for standard input); prints the summary.

    With ``url``, posts the lines to that server's ``/ingest`` instead of writing
    to the database (see :mod:`analytics_graph.ingest.client`). Returns the exit
    status (see the module docstring).
    """
    if source == "-":
        stream, size = sys.stdin.buffer, None
    else:
        try:
            stream = open(source, "rb")  # noqa: SIM115 (closed below)
        except OSError as exc:
            print(f"cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_UNREADABLE
        size = os.fstat(stream.fileno()).st_size
    with stream:
        if url is not None:
            from analytics_graph.ingest.client import post_all

            posted = post_all(
                url,
                token,
                stream,
                batch_size=batch_size,
                skip_invalid=skip_invalid,
                writers=writers,
            )
            return _report(asyncio.run(posted))
        options = {"batch_size": batch_size, "skip_invalid": skip_invalid, "writers": writers}
        return _ingest(settings, stream, size, options)


def _report(summary: Summary) -> int:
    for line in summary.report():
        print(line)
    return summary.exit_code


def _ingest(
    settings: Settings, stream: IO[bytes], total: int | None, options: dict[str, int]
) -> int:
    try:
        summary = asyncio.run(_run(settings, stream, total, **options))
    except (OSError, asyncpg.PostgresError, AnalyticsGraphError) as exc:
        print(f"database unavailable: {exc}", file=sys.stderr)
        return EXIT_STORE
    return _report(summary)
