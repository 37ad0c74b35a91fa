"""``analytics-graph ingest FILE --writers N`` in N processes, each on a contiguous part
of the file.

One process validating and appending is the bottleneck of a direct ingest (one core
busy, PostgreSQL with CPU to spare), so a regular file is cut into N parts of about
equal size, each starting where a line starts (:func:`split`). The command's process
ingests the first part; a child process (``python -m analytics_graph.ingest.parts``)
ingests each other one. Every process has its own pool, facts cache and remembered
ids, and keeps one append in flight while it validates its next batch.

Contiguous parts, not alternating batches: re-deliveries of an ``eventId`` sit near
each other in a file, so mostly within one part, whose process remembers the ids it
stored and so never collides with itself. A re-delivery in another part is still
stored once (the store redoes the batch with a lookup), at the cost of that batch.

Lines are numbered as in the file (a child counts the lines before its part); a
byte-order mark is skipped only at the start of the file; batches are ``batch_size``
lines counted from each part's start. Each part reaches the log in file order, the
parts interleaved.

The children: the parent writes one JSON line on a child's standard input (the file,
its part, the options and the database URL: the parent's, so an embedded server is
shared and no password shows on a command line) and keeps that pipe open; a child
stops at its next batch boundary when it closes (the parent stops the others after
a failure, or died). A child writes its :class:`Summary` as JSON on its standard
output (whatever else it prints goes to standard error). SIGINT and SIGTERM to the
parent are passed on to the children; a child that ends without a summary fails the
run like a store failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from asyncio.subprocess import PIPE, Process
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Final

import msgspec

from analytics_graph.config import Settings
from analytics_graph.errors import AnalyticsGraphError
from analytics_graph.eventstore.store import DATABASE_ERRORS
from analytics_graph.ingest.direct import (
    batch_work,
    finished,
    ingest_batches,
    ingest_with_progress,
)
from analytics_graph.ingest.ndjson import read_batches
from analytics_graph.ingest.outcome import Summary, merged
from analytics_graph.ingest.service import Ingestor
from analytics_graph.storage import open_store

CHILD: Final = "analytics_graph.ingest.parts"  # run with ``python -m``
BLOCK: Final = 1024 * 1024
SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class Part:
    """Bytes ``start`` up to ``end`` (``None``: the end) of a file, from a line's start."""

    number: int
    count: int
    start: int
    end: int | None

    @property
    def size(self) -> int | None:
        return None if self.end is None else self.end - self.start

    def describe(self) -> str:
        end = "its end" if self.end is None else f"byte {self.end}"
        return f"part {self.number} of {self.count} (from byte {self.start} to {end})"


@dataclass(frozen=True, slots=True)
class Request:
    """What a child is asked to ingest, and how (its first line of input)."""

    path: str
    part: Part
    batch_size: int
    skip_invalid: bool
    database_url: str
    file: tuple[int, int]
    """The file's device and inode, as the command opened it: a child refuses a
    ``path`` that names another file by then (renamed, replaced)."""


def split(stream: IO[bytes], size: int, count: int) -> list[Part]:
    """The non-empty parts of ``stream`` (``size`` bytes long), at most ``count``:
    part k starts at the first line that starts at or after k * size / count, and
    holds the lines that start before the next part. At least one part."""
    starts = sorted({_line_start(stream, k * size // count) for k in range(count)})
    starts = [start for start in starts if start < size] or [0]
    ends: list[int | None] = [*starts[1:], None]
    return [
        Part(number, len(starts), start, end)
        for number, (start, end) in enumerate(zip(starts, ends, strict=True), 1)
    ]


def _line_start(stream: IO[bytes], offset: int) -> int:
    """Where the first line starting at or after ``offset`` starts (the end if none)."""
    if offset == 0:
        return 0
    position = stream.seek(offset - 1)
    while block := stream.read(BLOCK):
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return position


def lines_before(stream: IO[bytes], offset: int) -> int:
    """How many lines end before ``offset`` (its line's number, less one)."""
    stream.seek(0)
    lines, left = 0, offset
    while left > 0 and (block := stream.read(min(BLOCK, left))):
        lines += block.count(b"\n")
        left -= len(block)
    return lines


def ingest(
    settings: Settings, path: str, stream: IO[bytes], size: int, options: dict[str, int]
) -> Summary | int:
    """Ingests the file at ``path`` (open as ``stream``, ``size`` bytes) in
    ``options["writers"]`` parts at once; the merged summary, or the exit status
    when the database is unavailable to this process."""
    parts = split(stream, size, options["writers"])
    return finished(_run(settings, path, stream, parts, options))


async def _run(
    settings: Settings, path: str, stream: IO[bytes], parts: list[Part], options: dict[str, int]
) -> Summary:
    """The first part here, the others in children started once the database is open
    (reachable, migrated, and an embedded server started); their summaries merged."""
    first, others = parts[0], parts[1:]
    skip_invalid = bool(options["skip_invalid"])
    children: list[Child] = []
    stop = asyncio.Event()

    def halt() -> None:
        stop.set()
        for child in children:
            child.stop()

    async with open_store(settings) as opened:
        with _signals_passed_on(children):
            for part in others:
                request = Request(
                    path, part, options["batch_size"], skip_invalid, opened.url, _identity(stream)
                )
                try:
                    children.append(await Child.start(request))
                except OSError as exc:  # no process to be had (limits, memory)
                    halt()
                    started = [await child.summary(halt) for child in children]
                    failure = f"could not start a process for {part.describe()}: {exc}"
                    return merged([*started, Summary(failure=failure)])
            reports = [asyncio.create_task(child.summary(halt)) for child in children]
            try:
                stream.seek(0)
                own = await ingest_with_progress(
                    Ingestor.configured(opened.store, settings),
                    read_batches(stream, options["batch_size"], size=first.size),
                    first.end,
                    title=f"ingesting part 1 of {first.count}",
                    skip_invalid=skip_invalid,
                    stop=stop,
                )
            except BaseException:
                halt()
                await asyncio.gather(*reports, return_exceptions=True)
                raise
            if own.failure:
                halt()
            return merged([own, *await asyncio.gather(*reports)])


class Child:
    """A child process ingesting one part."""

    def __init__(self, part: Part, process: Process) -> None:
        self.part = part
        self.process = process

    @classmethod
    async def start(cls, request: Request) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", CHILD, stdin=PIPE, stdout=PIPE
        )
        assert process.stdin is not None
        process.stdin.write(msgspec.json.encode(request) + b"\n")
        return cls(request.part, process)

    def stop(self) -> None:
        """Asks the child to stop at its next batch boundary (closes its input)."""
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()

    async def summary(self, halt: Callable[[], None]) -> Summary:
        """The child's summary once it ends; ``halt`` runs when it failed."""
        assert self.process.stdout is not None
        output = await self.process.stdout.read()
        status = await self.process.wait()
        self.stop()
        try:
            summary = msgspec.json.decode(output, type=Summary)
        except msgspec.MsgspecError:
            how = _ending(status) if status else "without a summary"
            summary = Summary(failure=f"{self.part.describe()} ended unexpectedly ({how})")
        if summary.failure:
            halt()
        return summary


def _ending(status: int) -> str:
    if status < 0:
        return f"killed by {signal.Signals(-status).name}"
    return f"exit status {status}"


@contextlib.contextmanager
def _signals_passed_on(children: Sequence[Child]) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM go on to ``children`` (those started
    and still running), then to this process as before (SIGTERM ends it, SIGINT
    interrupts it).
    Only the main thread receives signals; elsewhere (a test's runner) this does
    nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    before = {sig: signal.getsignal(sig) for sig in SIGNALS}

    def restore(sig: signal.Signals) -> None:
        loop.remove_signal_handler(sig)
        signal.signal(sig, before[sig])

    def pass_on(sig: signal.Signals) -> None:
        for child in children:
            if child.process.returncode is None:
                child.process.send_signal(sig)
        restore(sig)
        signal.raise_signal(sig)

    for sig in SIGNALS:
        loop.add_signal_handler(sig, pass_on, sig)
    try:
        yield
    finally:
        for sig in SIGNALS:
            if signal.getsignal(sig) is not before[sig]:
                restore(sig)


async def _ingest_part(request: Request, stream: IO[bytes]) -> Summary:
    """The child's work: its part, until done, a store failure, or its input closes."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def closed() -> None:
        if not os.read(sys.stdin.fileno(), BLOCK):
            stop.set()
            loop.remove_reader(sys.stdin.fileno())

    loop.add_reader(sys.stdin.fileno(), closed)
    part = request.part
    first_line = 1 + lines_before(stream, part.start)
    stream.seek(part.start)
    batches = read_batches(stream, request.batch_size, first_line=first_line, size=part.size)
    settings = Settings.from_environ().with_database(request.database_url)
    try:
        async with open_store(settings) as opened:
            with batch_work():
                return await ingest_batches(
                    Ingestor.configured(opened.store, settings),
                    batches,
                    skip_invalid=request.skip_invalid,
                    stop=stop,
                )
    except (*DATABASE_ERRORS, AnalyticsGraphError) as exc:  # a connection lost too
        return Summary(failure=f"database unavailable: {exc}")


def _identity(stream: IO[bytes]) -> tuple[int, int]:
    found = os.fstat(stream.fileno())
    return found.st_dev, found.st_ino


def main() -> None:
    """A child: reads its :class:`Request`, ingests, writes its summary."""
    # Die at once, as on SIGTERM: the append under way is one transaction, rolled back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    report = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to standard error
    request = msgspec.json.decode(sys.stdin.buffer.readline(), type=Request)
    try:
        stream = open(request.path, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        summary = Summary(failure=f"cannot read {request.path}: {exc.strerror or exc}")
    else:
        with stream:
            if _identity(stream) != request.file:
                summary = Summary(failure=f"{request.path} was replaced during the run")
            else:
                summary = asyncio.run(_ingest_part(request, stream))
    with contextlib.suppress(BrokenPipeError), report:
        report.write(msgspec.json.encode(summary))


if __name__ == "__main__":
    main()
