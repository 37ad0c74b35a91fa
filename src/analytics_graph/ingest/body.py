"""An NDJSON request body as batches of lines: bounded, optionally gzip-compressed.

Usage::

    limits = BodyLimits(max_bytes=..., max_lines=..., max_line_bytes=...)
    async for batch in body_batches(request.stream(), limits, batch_size=10_000, gzip=True):
        ...   # a LineBatch: lines numbered as in the body, newlines stripped

Guarantees: at most ``max_bytes`` are read from the wire and at most
``max_bytes`` come out of the decompressor (a gzip bomb is refused after that
much work, whatever its ratio); a line longer than ``max_line_bytes`` is kept as
its first ``max_line_bytes + 1`` bytes (validation rejects it by its number);
more than ``max_lines`` lines refuse the body. Refusals raise :class:`BodyRefused`.
A UTF-8 byte-order mark at the start of the (decompressed) body is skipped; a
final newline does not make an extra line.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Final

from analytics_graph.ingest.ndjson import BOM, LineBatch, LineSplitter

# Most bytes one decompress call may produce: bounds the work done per input chunk.
INFLATE_STEP: Final = 1024 * 1024


class BodyRefused(Exception):
    """The body breaks a limit or cannot be decoded; nothing of it is written."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_bytes: int
    max_lines: int
    max_line_bytes: int


def too_large(limits: BodyLimits, what: str = "the body") -> BodyRefused:
    return BodyRefused(413, "PAYLOAD_TOO_LARGE", f"{what} exceeds {limits.max_bytes} bytes")


async def _bounded(chunks: AsyncIterable[bytes], limits: BodyLimits) -> AsyncIterator[bytes]:
    read = 0
    async for chunk in chunks:
        read += len(chunk)
        if read > limits.max_bytes:
            raise too_large(limits)
        if chunk:
            yield chunk


async def _gunzipped(chunks: AsyncIterable[bytes], limits: BodyLimits) -> AsyncIterator[bytes]:
    """The decompressed bytes of one or more concatenated gzip members."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    produced, seen = 0, False
    try:
        async for chunk in chunks:
            seen, pending = True, chunk
            while pending:
                data = inflater.decompress(pending, INFLATE_STEP)
                produced += len(data)
                if produced > limits.max_bytes:
                    raise too_large(limits, "the decompressed body")
                if data:
                    yield data
                pending = inflater.unconsumed_tail
                if inflater.eof:
                    pending = inflater.unused_data + pending
                    if pending:  # another member follows
                        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        if seen and not inflater.eof:
            raise zlib.error("it ends before the end of its gzip stream")
    except zlib.error as exc:
        raise BodyRefused(400, "BAD_REQUEST", f"the body is not valid gzip ({exc})") from None


async def _without_bom(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    head = b""
    iterator = aiter(chunks)
    async for chunk in iterator:
        head += chunk
        if len(head) >= len(BOM):
            break
    yield head.removeprefix(BOM)
    async for chunk in iterator:
        yield chunk


async def body_batches(
    chunks: AsyncIterable[bytes], limits: BodyLimits, *, batch_size: int, gzip: bool = False
) -> AsyncIterator[LineBatch]:
    """The body's lines in batches of ``batch_size`` (see the module docstring)."""
    data = _bounded(chunks, limits)
    if gzip:
        data = _gunzipped(data, limits)
    splitter = LineSplitter(limits.max_line_bytes)
    first, batch, nbytes = 1, [], 0
    async for piece in _without_bom(data):
        nbytes += len(piece)
        batch.extend(splitter.feed(piece))
        while len(batch) >= batch_size:
            yield LineBatch(first, batch[:batch_size], nbytes)
            first, batch, nbytes = first + batch_size, batch[batch_size:], 0
            _check_lines(first - 1, limits)
        _check_lines(first - 1 + len(batch), limits)
    batch.extend(splitter.close())
    _check_lines(first - 1 + len(batch), limits)
    if batch:
        yield LineBatch(first, batch, nbytes)


def _check_lines(count: int, limits: BodyLimits) -> None:
    if count > limits.max_lines:
        message = f"the body has more than {limits.max_lines} lines"
        raise BodyRefused(413, "PAYLOAD_TOO_LARGE", message)
