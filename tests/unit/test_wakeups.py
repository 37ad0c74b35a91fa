"""A reader waiting for wake-ups stops when cancelled, even as a wake-up arrives.

(On Python 3.11, ``asyncio.wait_for`` loses a cancellation that lands as the
awaited thing completes: a projection worker then never stopped, and a server
hung in its shutdown now and then.)
"""

from __future__ import annotations

import asyncio

import pytest

from analytics_graph.eventstore.notify import Listener


@pytest.mark.parametrize("delay", range(6))
async def test_a_wait_cancelled_as_a_wake_up_arrives_is_cancelled(delay: int) -> None:
    listener = Listener("postgresql://unused", poll_interval=10)  # never started: no I/O
    waiting = asyncio.create_task(listener.wait(listener.generation))
    for _ in range(3):
        await asyncio.sleep(0)  # let it wait on the condition
    listener._on_notify()  # the wake-up: its task notifies on a later turn of the loop
    for _ in range(delay):
        await asyncio.sleep(0)
    accepted = waiting.cancel()  # False: the wait had ended already, a wake-up came first
    done, _ = await asyncio.wait([waiting], timeout=5)
    assert done, "the wait went on"
    assert waiting.cancelled() == accepted, "a cancellation was lost"


async def test_a_wake_up_ends_the_wait_and_a_timeout_too() -> None:
    listener = Listener("postgresql://unused", poll_interval=10)
    seen = listener.generation
    waiting = asyncio.create_task(listener.wait(seen))
    await asyncio.sleep(0)
    listener._on_notify()
    await asyncio.wait_for(waiting, 5)
    assert listener.generation == seen + 1
    await asyncio.wait_for(listener.wait(listener.generation, at_most=0.01), 5)
