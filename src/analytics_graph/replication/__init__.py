"""Reads from streaming replicas: choosing a replica, read-your-writes across the
lag, falling back to the primary, and reading the log where only the primary can
prove it final."""

from analytics_graph.replication.pools import (
    PositionNotReached,
    ReadPools,
    Replica,
    Requirement,
    Source,
)

__all__ = ["PositionNotReached", "ReadPools", "Replica", "Requirement", "Source"]
