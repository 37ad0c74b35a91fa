"""What became of a batch (:class:`IngestOutcome`) and of an ingest run (:class:`Summary`).

Light on imports: the reference collector (``ingest --url``) uses these without
the validation, the store or the metrics (its events are counted by the server that
takes them, under ``http``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from analytics_graph.ingest.ndjson import LineBatch
from analytics_graph.ingest.rejections import Rejection

SHOWN_REJECTIONS = 20
EXIT_REJECTED, EXIT_UNREADABLE, EXIT_STORE = 1, 2, 3


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What became of one batch.

    ``accepted`` events were new to the store and are now in the log;
    ``duplicates`` had an ``eventId`` already stored (before, or earlier in the
    batch). ``rejections`` name the invalid events. ``rejected_whole``: nothing
    of the batch was written because of them; ``not_written`` then counts its
    valid events. ``position``: the log position of the last event written
    (``None`` when nothing was).
    """

    size: int
    accepted: int
    duplicates: int
    rejections: tuple[Rejection, ...] = ()
    rejected_whole: bool = False
    not_written: int = 0
    position: int | None = None


@dataclass(frozen=True, slots=True)
class RefusedBatch:
    """A batch rejected whole: its first and last line, and its valid lines not written."""

    first_line: int
    last_line: int
    not_written: int


@dataclass(slots=True)
class Summary:
    """Totals of one ingest run (or of one part of it, see :func:`merged`)."""

    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    shown: list[Rejection] = field(default_factory=list)
    refused_batches: list[RefusedBatch] = field(default_factory=list)
    failure: str | None = None

    def add(self, batch: LineBatch, outcome: IngestOutcome) -> None:
        self.lines += len(batch.lines)
        self.accepted += outcome.accepted
        self.duplicates += outcome.duplicates
        self.rejected += len(outcome.rejections)
        room = SHOWN_REJECTIONS - len(self.shown)
        self.shown.extend(outcome.rejections[: max(room, 0)])
        if outcome.rejected_whole:
            refused = RefusedBatch(batch.first_line, batch.last_line, outcome.not_written)
            self.refused_batches.append(refused)

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
        for batch in self.refused_batches:
            yield (
                f"batch of lines {batch.first_line}-{batch.last_line} was rejected whole:"
                f" nothing of it was written ({batch.not_written} valid lines not written;"
                " --skip-invalid writes the valid lines of such batches)"
            )
        if self.failure:
            yield f"stopped: {self.failure}"

    @property
    def exit_code(self) -> int:
        if self.failure:
            return EXIT_STORE
        return EXIT_REJECTED if self.rejected else 0


def merged(parts: Sequence[Summary]) -> Summary:
    """One summary of a run whose parts (each numbering lines as the whole input does)
    were ingested apart: the totals; the first ``SHOWN_REJECTIONS`` rejections shown
    and the refused batches, in line order; the failure of the first part that had one."""
    total = Summary()
    for part in parts:
        total.lines += part.lines
        total.accepted += part.accepted
        total.duplicates += part.duplicates
        total.rejected += part.rejected
        total.shown.extend(part.shown)
        total.refused_batches.extend(part.refused_batches)
        total.failure = total.failure or part.failure
    total.shown = sorted(total.shown, key=Rejection.order)[:SHOWN_REJECTIONS]
    total.refused_batches.sort(key=lambda batch: batch.first_line)
    return total
