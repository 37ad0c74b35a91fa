"""``POST /ingest`` validated and appended in worker processes (``ingest_processes``).

Python runs one thread of Python at a time, and an ingest request is CPU work in
Python (decoding, checks, rows, COPY encoding): in the serving process it holds
one core while the other waits, and it delays every other request. With
``ingest_processes`` N, ``serve`` starts N workers (``python -m
analytics_graph.ingest.worker``) and hands each request's lines to one of them;
the serving process only reads the body, checks its limits and answers.

Each worker has its own pool, facts cache and remembered ids, and runs the same
:class:`~analytics_graph.ingest.service.Ingestor` the serving process would: the
same validation, idempotency and all-or-nothing rule. Requests of one collector
(its ``X-Collector-ID``, else its connection) go to one worker: a collector re-sends
near what it sent, that worker remembers those ids, and its appends do not collide
with each other (two appends of one id in two processes are still stored once, but
the loser redoes its batch with a lookup). New collectors take the workers in turn.

Protocol, over the worker's standard input and output: frames of a 4-byte
header length, a 4-byte payload length, a JSON header and the payload. The first
frame to a worker is its :class:`WorkerConfig` (the database URL travels here,
not on a command line); the worker answers ``ready``. Then each :class:`Job` (the
batches' lines, joined by newlines, as the payload) is answered by a
:class:`Reply` with the job's id, in any order. End of input: the worker finishes
the jobs under way and exits. A worker that dies fails its jobs under way (503:
resending is safe) and is started again for the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
import sys
from collections.abc import Hashable, Sequence
from typing import Final

import asyncpg
import msgspec

from analytics_graph.errors import StoreError
from analytics_graph.ingest.ndjson import LineBatch
from analytics_graph.ingest.outcome import IngestOutcome
from analytics_graph.observability import metrics

log = logging.getLogger(__name__)

FRAME: Final = struct.Struct("!II")
START_TIMEOUT: Final = 60.0
# Collectors remembered with their worker; beyond this many the oldest half go.
MAX_STICKY: Final = 10_000


# Failures that mean "the database cannot take this now": answered 503, retryable.
UNAVAILABLE = (StoreError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


def unavailable_reason(exc: BaseException) -> str:
    """Why the database could not take a request, for its 503."""
    if isinstance(exc, TimeoutError) or isinstance(exc.__cause__, TimeoutError):
        return "no database connection became free in time"
    return "the database is unreachable or failing"


class WorkerConfig(msgspec.Struct, frozen=True):
    """What a worker needs of the server's settings."""

    database_url: str
    max_batch: int
    max_line_bytes: int
    remembered_ids: int
    shown_rejections: int
    pool_max_size: int
    connect_timeout: float
    acquire_timeout: float
    statement_timeout: float
    mode: str


class Job(msgspec.Struct, frozen=True):
    """One request's lines: batches of ``(first line, count)``; the payload holds
    their lines joined by newlines (lines hold none: the body splitter strips them)."""

    id: int
    batches: list[tuple[int, int]]
    skip_invalid: bool


class Reply(msgspec.Struct, frozen=True, omit_defaults=True):
    """What became of a request (or a job): the ``/ingest`` answer's fields.

    ``unavailable``: the database could not take it (503, nothing written), with
    why; ``failed``: an unexpected error (500; the worker logged it). ``rejected``
    lists the first rejections, ``rejected_count`` counts all."""

    id: int = 0
    unavailable: str | None = None
    failed: bool = False
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int | None, str | None, str]] = []
    rejected_count: int = 0
    lines: int = 0
    written: bool = True
    position: int | None = None
    append_seconds: float | None = None

    @classmethod
    def of(
        cls,
        outcome: IngestOutcome,
        lines: int,
        shown: int,
        *,
        id: int = 0,
        append_seconds: float | None = None,
    ) -> Reply:
        """The reply of a request of ``lines`` lines, its first ``shown`` rejections listed."""
        return cls(
            id=id,
            accepted=outcome.accepted,
            duplicates=outcome.duplicates,
            rejected=[(r.index, r.field, r.reason) for r in outcome.rejections[:shown]],
            rejected_count=len(outcome.rejections),
            lines=lines,
            written=not outcome.rejected_whole,
            position=outcome.position,
            append_seconds=append_seconds,
        )

    def answer(self) -> dict[str, object]:
        """The JSON answer of ``POST /ingest`` (see :mod:`analytics_graph.ingest.http`)."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [{"line": i, "field": f, "reason": r} for i, f, r in self.rejected],
            "rejectedCount": self.rejected_count,
            "lines": self.lines,
            "written": self.written,
            "position": self.position,
        }


class Ready(msgspec.Struct, frozen=True):
    """A worker's first frame: its store is open, jobs may come."""

    ready: bool = True


class WorkerGone(Exception):
    """A worker ended with a job under way; the job may or may not have been written."""


def frame(header: msgspec.Struct, payload: bytes = b"") -> bytes:
    encoded = msgspec.json.encode(header)
    return FRAME.pack(len(encoded), len(payload)) + encoded + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """The next frame's header and payload; ``None`` at the end of the input."""
    try:
        sizes = await reader.readexactly(FRAME.size)
        header_size, payload_size = FRAME.unpack(sizes)
        return await reader.readexactly(header_size), await reader.readexactly(payload_size)
    except asyncio.IncompleteReadError:
        return None


class _Worker:
    """One worker process and its jobs under way."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: dict[int, asyncio.Future[Reply]] = {}
        self.reading: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.reading is not None and not self.reading.done()

    async def read_replies(self) -> None:
        """Hands each reply to its job, until the worker ends; then fails the rest."""
        metrics.INGEST_WORKERS.inc()
        try:
            await self._read_replies()
        finally:
            metrics.INGEST_WORKERS.dec()

    async def _read_replies(self) -> None:
        assert self.process.stdout is not None
        while (found := await read_frame(self.process.stdout)) is not None:
            reply = msgspec.json.decode(found[0], type=Reply)
            waiter = self.pending.pop(reply.id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(reply)
        gone = WorkerGone(f"ingest worker {self.process.pid} ended")
        for waiter in self.pending.values():
            if not waiter.done():
                waiter.set_exception(gone)
        self.pending.clear()


class IngestWorkers:
    """N worker processes taking ``/ingest`` requests (see the module docstring)."""

    def __init__(self, config: WorkerConfig, count: int) -> None:
        self.config = config
        self._slots: list[_Worker | None] = [None] * count
        self._starting = [asyncio.Lock() for _ in range(count)]
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._sticky: dict[Hashable, int] = {}
        self._closed = False

    async def start(self) -> None:
        """Starts every worker; raises when one does not become ready."""
        await asyncio.gather(*(self._worker(slot) for slot in range(len(self._slots))))

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._slots if w is not None and w.alive]

    async def ingest(
        self, collector: Hashable, batches: Sequence[LineBatch], *, skip_invalid: bool
    ) -> Reply:
        """Validates and appends one request's ``batches`` in the worker of ``collector``.

        Raises :class:`WorkerGone` when the worker ended first (nothing to tell about
        the request: resending it is safe)."""
        worker = await self._worker(self.slot(collector))
        job = Job(next(self._ids), [(b.first_line, len(b.lines)) for b in batches], skip_invalid)
        payload = b"\n".join(line for batch in batches for line in batch.lines)
        answered: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        worker.pending[job.id] = answered
        assert worker.process.stdin is not None
        try:
            worker.process.stdin.write(frame(job, payload))
            await worker.process.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            worker.pending.pop(job.id, None)
            raise WorkerGone(f"ingest worker {worker.process.pid} ended") from exc
        return await answered

    def slot(self, collector: Hashable) -> int:
        """The worker (its number) that takes ``collector``'s requests."""
        slot = self._sticky.get(collector)
        if slot is None:
            if len(self._sticky) >= MAX_STICKY:
                for old in list(self._sticky)[: MAX_STICKY // 2]:
                    del self._sticky[old]
            slot = self._sticky[collector] = next(self._turn) % len(self._slots)
        return slot

    async def _worker(self, slot: int) -> _Worker:
        """The worker of ``slot``, started (again) when it is not running."""
        worker = self._slots[slot]
        if worker is not None and worker.alive:
            return worker
        if self._closed:
            raise WorkerGone("the ingest workers have stopped: the server is stopping")
        async with self._starting[slot]:
            worker = self._slots[slot]
            if worker is not None and worker.alive:
                return worker
            if worker is not None:
                log.warning("ingest worker %s ended; starting another", worker.process.pid)
                metrics.INGEST_WORKER_RESTARTS.inc()
                await _reap(worker.process)
            worker = self._slots[slot] = await self._spawn()
            return worker

    async def _spawn(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "analytics_graph.ingest.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**20,
        )
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(frame(self.config))
        try:
            ready = await asyncio.wait_for(read_frame(process.stdout), START_TIMEOUT)
        except TimeoutError:
            ready = None
        if ready is None or not msgspec.json.decode(ready[0], type=Ready).ready:
            await _reap(process)
            raise RuntimeError(f"ingest worker {process.pid} did not start (see its log)")
        worker = _Worker(process)
        worker.reading = asyncio.create_task(worker.read_replies(), name="ingest-worker")
        return worker

    async def close(self, grace: float) -> None:
        """Ends the workers: each finishes its jobs under way within ``grace`` seconds,
        or is killed (its open transactions roll back)."""
        self._closed = True
        workers = [w for w in self._slots if w is not None]
        self._slots = [None] * len(self._slots)
        for worker in workers:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        await asyncio.gather(*(_reap(w.process, grace) for w in workers))
        for worker in workers:
            if worker.reading is not None:
                await worker.reading


async def _reap(process: asyncio.subprocess.Process, grace: float = 0.0) -> None:
    """Waits up to ``grace`` seconds for ``process`` to end, then kills it."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), grace)
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
