"""Cutting a file into parts at line starts, and reading each part with the file's
line numbers: together the parts read every line once, as one reader of the whole
file does (overlong, blank and unterminated lines included)."""

from __future__ import annotations

import io
import random

import pytest

from analytics_graph.ingest.ndjson import BOM, LineBatch, read_batches
from analytics_graph.ingest.parts import lines_before, split
from analytics_graph.ingest.vocabulary import MAX_LINE_BYTES


def content(seed: int) -> bytes:
    """Short, blank and overlong lines, a BOM first; maybe no final newline."""
    rng = random.Random(seed)
    lines = [BOM + b'{"first": 1}']
    for _ in range(rng.randint(0, 40)):
        kind = rng.random()
        if kind < 0.1:
            lines.append(b"")
        elif kind < 0.2:
            lines.append(b'{"long": "' + b"y" * rng.randint(MAX_LINE_BYTES, 3 * MAX_LINE_BYTES))
        else:
            lines.append(b'{"n": ' + str(rng.randint(0, 10 ** rng.randint(1, 60))).encode() + b"}")
    return b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")


def numbered(batches: list[LineBatch]) -> list[tuple[int, bytes]]:
    return [(batch.first_line + i, line) for batch in batches for i, line in enumerate(batch.lines)]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("count", [2, 3, 8])
def test_the_parts_read_every_line_once_with_its_number(seed: int, count: int) -> None:
    data = content(seed)
    stream = io.BytesIO(data)
    line_starts = [0] + [i + 1 for i, byte in enumerate(data[:-1]) if byte == ord("\n")]
    parts = split(stream, len(data), count)
    # part k: from the first line start at or after k/count of the bytes; none empty
    rule = {
        min((start for start in line_starts if start >= k * len(data) // count), default=-1)
        for k in range(count)
    }
    assert [part.start for part in parts] == sorted(rule - {-1})
    whole = numbered(list(read_batches(io.BytesIO(data), 7)))
    read: list[tuple[int, bytes]] = []
    for part in parts:
        first_line = 1 + lines_before(stream, part.start)
        assert first_line == 1 + line_starts.index(part.start)
        stream.seek(part.start)
        batches = list(read_batches(stream, 7, first_line=first_line, size=part.size))
        assert all(len(batch.lines) == 7 for batch in batches[:-1])  # from the part's start
        read += numbered(batches)
    assert read == whole
