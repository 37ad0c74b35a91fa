"""An ingest worker process: ``python -m analytics_graph.ingest.worker``.

Started by ``serve`` (:class:`~analytics_graph.ingest.workers.IngestWorkers`), never
by hand: it reads its configuration and then jobs from standard input and answers on
standard output (the protocol is in :mod:`analytics_graph.ingest.workers`); its
logs go to standard error, like the server's. Signals from a terminal are left to
the server, which ends its workers by closing their input: a worker then finishes
the jobs under way and exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time

import msgspec

from analytics_graph.collector import BULK_YOUNG_THRESHOLD, quiet_collector
from analytics_graph.config import Mode, Settings
from analytics_graph.eventstore.store import EventStore
from analytics_graph.ingest.service import Ingestor
from analytics_graph.ingest.workers import (
    UNAVAILABLE,
    Job,
    Ready,
    Reply,
    WorkerConfig,
    frame,
    read_frame,
    unavailable_reason,
)
from analytics_graph.observability.logs import configure_logging
from analytics_graph.storage import open_store

log = logging.getLogger(__name__)


async def _pipes() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Standard input, and standard output for the replies alone: whatever else is
    written to file descriptor 1 (a library's stray print) goes to standard error."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, replies)
    return reader, asyncio.StreamWriter(transport, protocol, None, loop)


class _Jobs:
    """Runs the jobs of one worker and writes their replies."""

    def __init__(self, ingestor: Ingestor, config: WorkerConfig, out: asyncio.StreamWriter):
        self.ingestor = ingestor
        self.shown = config.shown_rejections
        self.out = out

    async def run(self, header: bytes, payload: bytes) -> None:
        job = msgspec.json.decode(header, type=Job)
        try:
            reply = await self._ingest(job, payload)
        except UNAVAILABLE as exc:
            reply = Reply(id=job.id, unavailable=unavailable_reason(exc))
        except Exception:
            log.exception("ingest job failed")
            reply = Reply(id=job.id, failed=True)
        self.out.write(frame(reply))
        await self.out.drain()

    async def _ingest(self, job: Job, payload: bytes) -> Reply:
        lines, validations, start = payload.split(b"\n"), [], 0
        validator = self.ingestor.validator
        for first_line, count in job.batches:
            batch = lines[start : start + count]
            start += count
            validations.append(await validator.lines(batch, first_line=first_line))
        started = time.perf_counter()
        outcome = await self.ingestor.write_all(validations, skip_invalid=job.skip_invalid)
        seconds = time.perf_counter() - started
        return Reply.of(outcome, start, self.shown, id=job.id, append_seconds=seconds)


async def serve(
    config: WorkerConfig, reader: asyncio.StreamReader, out: asyncio.StreamWriter
) -> None:
    """Answers the jobs of ``reader`` on ``out`` until the end of ``reader``."""
    settings = Settings(
        database_url=config.database_url,
        pool_min_size=1,
        pool_max_size=config.pool_max_size,
        database_connect_timeout=config.connect_timeout,
        statement_timeout=config.statement_timeout,
    )
    async with open_store(settings) as opened:
        store = EventStore(opened.pool, opened.notifier, acquire_timeout=config.acquire_timeout)
        ingestor = Ingestor(
            store,
            max_batch=config.max_batch,
            max_line_bytes=config.max_line_bytes,
            remember=config.remembered_ids,
        )
        jobs = _Jobs(ingestor, config, out)
        out.write(frame(Ready()))
        running: set[asyncio.Task[None]] = set()
        with quiet_collector(BULK_YOUNG_THRESHOLD):
            while (found := await read_frame(reader)) is not None:
                task = asyncio.create_task(jobs.run(*found))
                running.add(task)
                task.add_done_callback(running.discard)
            if running:
                await asyncio.wait(running)


async def _main() -> None:
    reader, out = await _pipes()
    found = await read_frame(reader)
    if found is None:
        return
    config = msgspec.json.decode(found[0], type=WorkerConfig)
    configure_logging(Mode(config.mode))
    await serve(config, reader, out)


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # the server ends us (end of input)
    try:
        asyncio.run(_main())
    except Exception:
        log.exception("ingest worker stopped")
        sys.exit(1)


if __name__ == "__main__":
    main()
