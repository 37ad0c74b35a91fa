"""Reading NDJSON in batches of lines, with the bytes read (for progress).

A UTF-8 byte-order mark at the very start of the input is skipped (some editors
and Windows tools write one); anywhere else it is part of a line (and invalid).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from analytics_graph.ingest.vocabulary import MAX_LINE_BYTES

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Consecutive lines as read (newline included), the first numbered ``first_line``."""

    first_line: int
    lines: list[bytes]
    nbytes: int

    @property
    def last_line(self) -> int:
        return self.first_line + len(self.lines) - 1


def read_batches(stream: IO[bytes], batch_size: int) -> Iterator[LineBatch]:
    """Yields the lines of ``stream`` in batches of ``batch_size`` (the last may be shorter).

    A line longer than ``MAX_LINE_BYTES`` is not kept whole: its first
    ``MAX_LINE_BYTES + 1`` bytes stand for it (validation rejects it for its
    length) and the rest is skipped, so memory stays bounded.
    """
    first, nbytes = 1, 0
    lines: list[bytes] = []
    readline = stream.readline
    while line := readline(MAX_LINE_BYTES + 1):
        nbytes += len(line)
        if first == 1 and not lines and line.startswith(BOM):
            line = line[len(BOM) :]
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            nbytes += _skip_line(stream)
        lines.append(line)
        if len(lines) == batch_size:
            yield LineBatch(first, lines, nbytes)
            first, lines, nbytes = first + len(lines), [], 0
    if lines:
        yield LineBatch(first, lines, nbytes)


def _skip_line(stream: IO[bytes]) -> int:
    skipped = 0
    while chunk := stream.readline(MAX_LINE_BYTES):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped
