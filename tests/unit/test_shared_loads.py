"""The loads a round's questions share (``loaders.SharedLoader``): one question's
cancelled work (graphql-core cancels the fields beside one that failed) leaves the
load to the others."""

from __future__ import annotations

import asyncio

import pytest

from analytics_graph.api.reads.loaders import Kept, SharedLoader


async def test_cancelling_one_awaiter_leaves_a_shared_load_to_the_others() -> None:
    release = asyncio.Event()
    batches: list[list[int]] = []

    async def load(keys: list[int]) -> list[int]:
        batches.append(keys)
        await release.wait()
        return [k * 10 for k in keys]

    loader = SharedLoader(load)

    async def ask(key: int) -> int:
        return await loader.load(key)

    failing, other = asyncio.create_task(ask(1)), asyncio.create_task(ask(1))
    await asyncio.sleep(0.01)  # both await the one future of key 1
    future = loader.load(1)
    assert isinstance(future, Kept)
    failing.cancel()
    await asyncio.sleep(0.01)
    assert not future.cancelled() and not other.done()
    release.set()
    assert await other == 10
    with pytest.raises(asyncio.CancelledError):
        await failing  # cancelled once the load completed
    assert batches == [[1]]
