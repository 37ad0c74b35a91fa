"""Reading an NDJSON request body: lines across chunk boundaries, the BOM, gzip, limits."""

from __future__ import annotations

import gzip
import io
from collections.abc import AsyncIterator

import pytest

from analytics_graph.ingest.body import BodyLimits, BodyRefused, body_batches
from analytics_graph.ingest.ndjson import read_stripped_batches

BODY = b"\xef\xbb\xbfa\nbb\n\n" + b"c" * 25 + b"\ndd\ne"
EXPECTED = [(1, [b"a", b"bb"]), (3, [b"", b"c" * 11]), (5, [b"dd", b"e"])]


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read(
    data: bytes, size: int, *, gzipped: bool = False, **limits: int
) -> list[tuple[int, list[bytes]]]:
    bounds = BodyLimits(
        **{"max_bytes": 1_000_000, "max_lines": 100, "max_line_bytes": 10, **limits}
    )
    batches = body_batches(chunks(data, size), bounds, batch_size=2, gzip=gzipped)
    return [(b.first_line, b.lines) async for b in batches]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 100])
async def test_lines_are_the_same_whatever_the_chunks(size: int) -> None:
    # the BOM goes, a blank line stays (validation skips it), an overlong line is cut
    # to max_line_bytes + 1 (validation rejects it by its number), no final empty line
    assert await read(BODY, size) == EXPECTED


@pytest.mark.parametrize("block", [1, 2, 3, 5, 7, 100])
def test_a_file_read_in_blocks_gives_the_lines_the_server_finds(block: int) -> None:
    """What the collector reads (``read_stripped_batches``) is what a body of the same
    bytes gives the server, so the line numbers of rejections are the file's."""
    read = list(read_stripped_batches(io.BytesIO(BODY), 2, block=block, limit=10))
    assert [(b.first_line, b.lines) for b in read] == EXPECTED
    assert sum(b.nbytes for b in read) == len(BODY)
    for data in (b"a\nb\n", b"a\nb", b"", b"\n"):
        stripped = [b.lines for b in read_stripped_batches(io.BytesIO(data), 5, block=block)]
        assert stripped == ([data.removesuffix(b"\n").split(b"\n")] if data else [])


async def test_a_final_newline_makes_no_extra_line_and_an_empty_body_no_batch() -> None:
    assert await read(b"a\nb\n", 3) == [(1, [b"a", b"b"])]
    assert await read(b"", 3) == []
    assert await read(b"", 3, gzipped=True) == []


@pytest.mark.parametrize("size", [1, 4, 1000])
async def test_gzip_with_several_members(size: int) -> None:
    data = gzip.compress(BODY) + gzip.compress(b"\nx\n")
    assert await read(data, size, gzipped=True) == [*EXPECTED, (7, [b"x"])]


async def test_broken_gzip_is_a_bad_request() -> None:
    for data in (gzip.compress(BODY)[:-6], b"not gzip at all"):
        with pytest.raises(BodyRefused) as refused:
            await read(data, 4, gzipped=True)
        assert refused.value.status == 400 and "gzip" in refused.value.message


async def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\n" * 5_000_000)
    with pytest.raises(BodyRefused) as refused:
        await read(bomb, 4096, gzipped=True, max_bytes=100_000, max_lines=10**7)
    assert refused.value.status == 413 and "decompressed" in refused.value.message


async def test_too_many_bytes_or_lines() -> None:
    with pytest.raises(BodyRefused) as too_big:
        await read(BODY, 4, max_bytes=10)
    assert too_big.value.status == 413 and "10 bytes" in too_big.value.message
    with pytest.raises(BodyRefused) as too_many:
        await read(BODY, 4, max_lines=5)
    assert too_many.value.status == 413 and "5 lines" in too_many.value.message
    assert len(await read(BODY, 4, max_lines=6)) == 3
