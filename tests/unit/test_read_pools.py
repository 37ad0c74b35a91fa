"""Choosing where reads run, without a server: requirements, turns, lost replicas."""

from __future__ import annotations

from typing import Any, cast

from analytics_graph.replication import ReadPools, Replica, Source
from analytics_graph.replication.pools import includes

POOL = cast(Any, object())


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_requirement_is_met_by_every_named_checkpoint_at_or_past_its_position() -> None:
    assert includes({"a": 10, "b": 12}, {"a": 10, "b": 11})
    assert not includes({"a": 10, "b": 12}, {"a": 11})
    assert not includes({"a": 10}, {"a": 5, "b": 1})  # a projection missing: not met
    assert includes({}, {})


def test_a_position_names_every_projection_and_zero_names_none() -> None:
    reads = ReadPools(POOL, names=("a", "b"))
    assert reads.everything_at(7) == {"a": 7, "b": 7}
    assert reads.everything_at(0) == {}


def test_replicas_take_turns_and_a_lost_one_is_left_out_until_its_retry_time() -> None:
    clock = Clock()
    one, two = Replica("replica-1", POOL), Replica("replica-2", POOL)
    reads = ReadPools(POOL, [one, two], retry_seconds=5.0, clock=clock)
    firsts = {reads.healthy()[0].name for _ in range(4)}
    assert firsts == {"replica-1", "replica-2"}
    reads.lost(Source(POOL, two))
    assert reads.healthy() == [one]
    clock.now += 4.9
    assert reads.healthy() == [one]
    clock.now += 0.2
    assert two in reads.healthy()
    reads.lost(reads.primary)  # the primary is never left out
    assert reads.primary.name == "primary"
