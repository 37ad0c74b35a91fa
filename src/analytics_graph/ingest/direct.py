"""``analytics-graph ingest FILE`` straight into the database: validate a batch while
the previous ones append (see :mod:`analytics_graph.ingest.command`)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import deque
from collections.abc import Coroutine, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

from analytics_graph.collector import BULK_YOUNG_THRESHOLD, quiet_collector
from analytics_graph.config import Settings
from analytics_graph.errors import AnalyticsGraphError, StoreError
from analytics_graph.eventstore.store import DATABASE_ERRORS
from analytics_graph.ingest.ndjson import LineBatch, read_batches
from analytics_graph.ingest.outcome import EXIT_STORE, IngestOutcome, Summary
from analytics_graph.ingest.service import Ingestor
from analytics_graph.observability import metrics
from analytics_graph.storage import open_store


async def ingest_batches(
    ingestor: Ingestor,
    batches: Iterable[LineBatch],
    *,
    skip_invalid: bool = False,
    writers: int = 1,
    progress: Progress | None = None,
    task: TaskID | None = None,
    stop: asyncio.Event | None = None,
) -> Summary:
    """Ingests every batch of ``batches``; returns the totals (stops at a store failure,
    or before the next batch once ``stop`` is set).

    Up to ``writers`` appends run at once while the next batch is validated; with
    one, batches reach the log in file order, with more, the batches in flight
    may commit in any order among themselves (each keeps its lines' order).
    """
    summary = Summary()

    def add(batch: LineBatch, outcome: IngestOutcome) -> None:
        metrics.count_ingest("cli", outcome)
        summary.add(batch, outcome)

    pending: deque[tuple[LineBatch, asyncio.Task[IngestOutcome]]] = deque()
    try:
        for batch in batches:
            if stop is not None and stop.is_set():
                break
            validation = await ingestor.validator.lines(batch.lines, first_line=batch.first_line)
            while len(pending) >= writers:
                done, write = pending.popleft()
                add(done, await write)
            write = asyncio.create_task(ingestor.write(validation, skip_invalid=skip_invalid))
            pending.append((batch, write))
            if progress is not None and task is not None:
                progress.update(task, advance=batch.nbytes, lines=batch.last_line)
        while pending:
            done, write = pending.popleft()
            add(done, await write)
    except StoreError as exc:
        summary.failure = str(exc)
        while pending:  # appends already under way may still succeed
            done, write = pending.popleft()
            with contextlib.suppress(StoreError):
                add(done, await write)
    return summary


def _progress(total: int | None, title: str) -> contextlib.AbstractContextManager[Progress | None]:
    """A progress bar on standard error when that is a terminal. Anywhere else rich
    would draw nothing (a file, a pipe: a collector's or a script's log) and is not
    even imported (about 70 ms of the command's start)."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    if total is None:
        columns = (TextColumn(title), TextColumn("{task.fields[lines]} lines"))
        return Progress(*columns, console=console, transient=True)
    return Progress(
        TextColumn(title),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[lines]} lines"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


@contextlib.contextmanager
def batch_work() -> Iterator[None]:
    """Keeps the garbage collector off the hot path: everything loaded so far is frozen
    out of its scans, and young collections run every ``BULK_YOUNG_THRESHOLD`` net
    allocations. Each batch's objects are acyclic and freed by reference counting."""
    with quiet_collector(BULK_YOUNG_THRESHOLD):
        yield


async def ingest_with_progress(
    ingestor: Ingestor,
    batches: Iterable[LineBatch],
    total: int | None,
    *,
    skip_invalid: bool,
    writers: int = 1,
    title: str = "ingesting",
    stop: asyncio.Event | None = None,
) -> Summary:
    """:func:`ingest_batches` with a progress bar of ``total`` bytes (on a terminal)."""
    with _progress(total, title) as progress, batch_work():
        task = None if progress is None else progress.add_task("ingest", total=total, lines=0)
        return await ingest_batches(
            ingestor,
            batches,
            skip_invalid=skip_invalid,
            writers=writers,
            progress=progress,
            task=task,
            stop=stop,
        )


async def _run(settings: Settings, stream: IO[bytes], total: int | None, **options: int) -> Summary:
    # Projections are the server's work (`serve`); this process only writes the log.
    async with open_store(settings) as opened:
        return await ingest_with_progress(
            Ingestor.configured(opened.store, settings),
            read_batches(stream, options["batch_size"]),
            total,
            skip_invalid=bool(options["skip_invalid"]),
            writers=options.get("writers", 1),
        )


def ingest(
    settings: Settings, stream: IO[bytes], total: int | None, options: dict[str, int]
) -> Summary | int:
    """The run's summary, or the exit status when the database is unavailable."""
    return finished(_run(settings, stream, total, **options))


def finished(run: Coroutine[Any, Any, Summary]) -> Summary | int:
    """Runs ``run`` (a whole ingest, in a new event loop) to its summary, or to the exit
    status when the database is unavailable (said on standard error)."""
    try:
        return asyncio.run(run)
    except (*DATABASE_ERRORS, AnalyticsGraphError) as exc:  # a connection lost too
        print(f"database unavailable: {exc}", file=sys.stderr)
        return EXIT_STORE
