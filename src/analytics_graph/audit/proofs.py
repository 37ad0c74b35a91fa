"""Inclusion and consistency proofs from the stored tree, in two statements each.

A proof is computed twice over :mod:`merkle`: once with a :class:`Recorder`
to learn which stored nodes it reads, then over those nodes fetched at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analytics_graph.audit import merkle, tree
from analytics_graph.types import Connection


class ProofError(ValueError):
    """The proof asked for cannot exist (a size or position outside the sealed log)."""


@dataclass(frozen=True, slots=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    audit_path: list[bytes]


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    from_size: int
    to_size: int
    path: list[bytes]


async def _stored(
    conn: Connection, compute: Callable[[merkle.NodeSource], list[bytes]]
) -> list[bytes]:
    recorder = merkle.Recorder()
    compute(recorder)
    nodes = await tree.fetch_nodes(conn, recorder.wanted)

    def node(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise ProofError(f"the stored tree lacks node {level}/{index}") from None

    return compute(node)


async def sealed_size(conn: Connection) -> int:
    """The size of the latest signed head (0 before the first)."""
    head = await tree.latest_head(conn)
    return 0 if head is None else head.tree_size


async def inclusion(conn: Connection, position: int, tree_size: int | None) -> InclusionProof:
    """That the event at ``position`` is leaf ``leafIndex`` of the tree of ``tree_size``
    (default: the latest head's); raises :class:`ProofError` saying why not."""
    latest = await sealed_size(conn)
    size = latest if tree_size is None else tree_size
    if size > latest:
        raise ProofError(f"treeSize {size}: only {latest} events are sealed")
    index = await tree.leaf_index(conn, position, size)
    if index is None:
        raise ProofError(f"position {position} is not among the first {size} sealed events")
    found = await _stored(
        conn, lambda node: [node(0, index), *merkle.inclusion_path(node, index, size)]
    )
    return InclusionProof(index, size, found[0], found[1:])


async def consistency(conn: Connection, from_size: int, to_size: int | None) -> ConsistencyProof:
    """That the tree of ``from_size`` is a prefix of the tree of ``to_size`` (default:
    the latest head's); raises :class:`ProofError` saying why not."""
    latest = await sealed_size(conn)
    to = latest if to_size is None else to_size
    if to > latest:
        raise ProofError(f"toSize {to}: only {latest} events are sealed")
    if from_size > to:
        raise ProofError(f"fromSize {from_size} is larger than toSize {to}")
    path = await _stored(conn, lambda node: merkle.consistency_path(node, from_size, to))
    return ConsistencyProof(from_size, to, path)


async def root_at(conn: Connection, size: int) -> bytes:
    """The root of the stored tree's first ``size`` leaves."""
    (value,) = await _stored(conn, lambda node: [merkle.root(node, size)])
    return value
