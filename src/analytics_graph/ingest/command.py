"""``analytics-graph ingest FILE|-``: bulk ingest of NDJSON with progress and a summary.

Each batch of lines is validated whole; by default a batch with any invalid
line is not written at all (and reported so), with ``skip_invalid`` its valid
lines are written. Validation of the next batch overlaps the append of the
previous one; with one writer appends stay in file order, so the log holds the
lines in file order. Exit status: 0 when every line was accepted or a duplicate,
1 when any line was rejected, 2 when the input cannot be opened, 3 when the store
failed.

Straight into the database (:mod:`direct`), or with ``url`` through a server's
``/ingest`` (:mod:`client`); each is imported only when used, so a collector
starts without the validation and the store. Straight into the database with
``writers`` above 1, a regular file is ingested by that many processes, each on a
contiguous part of it (:mod:`parts`; each part reaches the log in file order, the
parts interleaved); standard input (or a pipe) by one process with up to
``writers`` appends in flight.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys

from analytics_graph.config import Settings
from analytics_graph.ingest.outcome import (
    EXIT_REJECTED,
    EXIT_STORE,
    EXIT_UNREADABLE,
    SHOWN_REJECTIONS,
    IngestOutcome,
    Summary,
)

__all__ = [
    "EXIT_REJECTED",
    "EXIT_STORE",
    "EXIT_UNREADABLE",
    "SHOWN_REJECTIONS",
    "IngestOutcome",
    "Summary",
    "run",
]


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
    regular = False
    if source == "-":
        stream, size = sys.stdin.buffer, None
    else:
        try:
            stream = open(source, "rb")  # noqa: SIM115 (closed below)
        except OSError as exc:
            print(f"cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_UNREADABLE
        status = os.fstat(stream.fileno())
        size, regular = status.st_size, stat.S_ISREG(status.st_mode)
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
        if writers > 1 and regular and size:
            from analytics_graph.ingest import parts

            summary = parts.ingest(settings, source, stream, size, options)
        else:
            from analytics_graph.ingest.direct import ingest

            summary = ingest(settings, stream, size, options)
        return summary if isinstance(summary, int) else _report(summary)


def _report(summary: Summary) -> int:
    for line in summary.report():
        print(line)
    return summary.exit_code
