"""The garbage collector's settings around bulk work (``analytics_graph.collector``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from analytics_graph.collector import BulkCollections


@pytest.fixture
def threshold() -> Iterator[tuple[int, int, int]]:
    """A known threshold for the test, the process's own restored after it."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_young_collections_are_rarer_while_any_block_runs(
    threshold: tuple[int, int, int],
) -> None:
    bulk = BulkCollections(100)
    first = bulk.during()
    second = bulk.during()
    first.__enter__()
    assert gc.get_threshold() == (70_000, 10, 10)
    second.__enter__()  # overlapping (another request)
    assert gc.get_threshold() == (70_000, 10, 10)
    first.__exit__(None, None, None)
    assert gc.get_threshold() == (70_000, 10, 10)  # the second still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == threshold


def test_the_threshold_comes_back_when_the_block_fails(threshold: tuple[int, int, int]) -> None:
    bulk = BulkCollections(100)
    with pytest.raises(RuntimeError), bulk.during():
        raise RuntimeError("the request failed")
    assert gc.get_threshold() == threshold
    with bulk.during():  # and the next block raises it again
        assert gc.get_threshold()[0] == 70_000
    assert gc.get_threshold() == threshold
