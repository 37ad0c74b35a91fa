"""The frame header the hub writes (``api/live/frames.py``), read back by the
``websockets`` package's own parser."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from analytics_graph.api.live.frames import header


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
def test_a_frame_of_any_size_parses_as_one_final_text_frame(size: int) -> None:
    payload = ("é" * size).encode()[:size]  # bytes of that length (not all valid text)
    reader = StreamReader()
    reader.feed_data(header(size) + payload)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
    else:  # pragma: no cover - the parser wanted more bytes
        raise AssertionError("the frame is incomplete")
    assert frame.opcode is Opcode.TEXT and frame.fin
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)
    assert bytes(frame.data) == payload
