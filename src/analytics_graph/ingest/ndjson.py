"""Reading NDJSON in batches of lines, with the bytes read (for progress).

A UTF-8 byte-order mark at the very start of the input is skipped (some editors
and Windows tools write one); anywhere else it is part of a line (and invalid).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from analytics_graph.ingest.vocabulary import MAX_LINE_BYTES

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Consecutive lines as read (newline included; without it from
    :class:`LineSplitter`), the first numbered ``first_line``."""

    first_line: int
    lines: list[bytes]
    nbytes: int

    @property
    def last_line(self) -> int:
        return self.first_line + len(self.lines) - 1


class LineSplitter:
    """Splits a byte stream into lines, keeping at most ``limit + 1`` bytes of each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._tail = b""
        self._overlong = False

    def _cut(self, line: bytes) -> bytes:
        return line if len(line) <= self.limit else line[: self.limit + 1]

    def feed(self, data: bytes) -> list[bytes]:
        *complete, rest = data.split(b"\n")
        lines: list[bytes] = []
        if complete:
            first = self._tail if self._overlong else self._tail + complete[0]
            lines.append(self._cut(first))
            others = complete[1:]
            if others and max(map(len, others)) > self.limit:
                others = [self._cut(line) for line in others]
            lines.extend(others)
            self._tail, self._overlong = b"", False
        if not self._overlong:
            self._tail += rest
            if len(self._tail) > self.limit:
                self._tail, self._overlong = self._tail[: self.limit + 1], True
        return lines

    def close(self) -> list[bytes]:
        return [self._tail] if self._tail else []


def read_batches(
    stream: IO[bytes], batch_size: int, *, first_line: int = 1, size: int | None = None
) -> Iterator[LineBatch]:
    """Yields the lines of ``stream`` in batches of ``batch_size`` (the last may be shorter),
    numbered from ``first_line``.

    A line longer than ``MAX_LINE_BYTES`` is not kept whole: its first
    ``MAX_LINE_BYTES + 1`` bytes stand for it (validation rejects it for its
    length) and the rest is skipped, so memory stays bounded. With ``size``, the
    lines that start within the next ``size`` bytes (a part of a file that ends
    where a line starts, see :mod:`analytics_graph.ingest.parts`); without, all.
    The byte-order mark is skipped only before line 1.
    """
    first, nbytes, left = first_line, 0, sys.maxsize if size is None else size
    lines: list[bytes] = []
    readline = stream.readline
    while nbytes < left and (line := readline(MAX_LINE_BYTES + 1)):
        nbytes += len(line)
        if first == 1 and not lines and line.startswith(BOM):
            line = line[len(BOM) :]
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            nbytes += _skip_line(stream)
        lines.append(line)
        if len(lines) == batch_size:
            yield LineBatch(first, lines, nbytes)
            first, lines, left, nbytes = first + len(lines), [], left - nbytes, 0
    if lines:
        yield LineBatch(first, lines, nbytes)


def _skip_line(stream: IO[bytes]) -> int:
    skipped = 0
    while chunk := stream.readline(MAX_LINE_BYTES):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def read_stripped_batches(
    stream: IO[bytes], batch_size: int, *, block: int = 1024 * 1024, limit: int = MAX_LINE_BYTES
) -> Iterator[LineBatch]:
    """:func:`read_batches` with the lines split as ``POST /ingest`` splits a body
    (:class:`LineSplitter`: no newline, at most ``limit + 1`` bytes each), read in
    blocks of ``block`` bytes: a few steps per block instead of several per line, for
    whoever only passes the lines on (the collector)."""
    splitter = LineSplitter(limit)
    first, nbytes = 1, 0
    lines: list[bytes] = []
    read = stream.read(block)
    while 0 < len(read) < len(BOM) and (more := stream.read(block)):
        read += more  # a pipe may give less than the mark at first
    data = read.removeprefix(BOM)
    while read:
        nbytes += len(read)
        lines.extend(splitter.feed(data))
        while len(lines) >= batch_size:
            yield LineBatch(first, lines[:batch_size], nbytes)
            first, lines, nbytes = first + batch_size, lines[batch_size:], 0
        read = data = stream.read(block)
    lines.extend(splitter.close())
    if lines:
        yield LineBatch(first, lines, nbytes)
