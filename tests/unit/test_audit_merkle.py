"""The Merkle tree code against an independent RFC 6962 implementation
(tests/integration/audit_rfc6962.py)."""

from __future__ import annotations

import hashlib

import pytest

from analytics_graph.audit import merkle
from tests.integration import audit_rfc6962 as rfc

SIZES = [*range(1, 40), 63, 64, 65, 127, 128, 129, 1000]


def leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest() for i in range(n)]


def built(n: int) -> merkle.Builder:
    builder = merkle.Builder()
    builder.extend(leaves(n))
    return builder


@pytest.mark.parametrize("n", [0, *SIZES])
def test_roots_match_rfc_6962(n: int) -> None:
    builder = built(n)
    assert builder.root() == rfc.mth(leaves(n))
    assert merkle.root(builder.node, n) == rfc.mth(leaves(n))


@pytest.mark.parametrize("n", SIZES)
def test_inclusion_paths_verify_independently(n: int) -> None:
    builder, hashes = built(n), leaves(n)
    root = rfc.mth(hashes)
    for index in sorted({0, n // 3, n // 2, n - 1}):
        path = merkle.inclusion_path(builder.node, index, n)
        assert rfc.verify_inclusion(index, n, hashes[index], path, root)
        assert merkle.root_from_inclusion(index, n, hashes[index], path) == root
        if path:  # a wrong sibling or leaf is refused
            assert not rfc.verify_inclusion(index, n, hashes[index], path[:-1], root)
            assert not rfc.verify_inclusion(index, n, hashes[(index + 1) % n], path, root)


@pytest.mark.parametrize("n", SIZES)
def test_consistency_paths_verify_independently(n: int) -> None:
    builder, hashes = built(n), leaves(n)
    for old in sorted({1, n // 2, n - 1, n} - {0}):
        path = merkle.consistency_path(builder.node, old, n)
        assert rfc.verify_consistency(old, n, rfc.mth(hashes[:old]), rfc.mth(hashes), path)
        assert merkle.roots_from_consistency(old, n, rfc.mth(hashes[:old]), path) == (
            rfc.mth(hashes[:old]),
            rfc.mth(hashes),
        )


def test_a_builder_resumed_from_its_edge_continues_the_same_tree() -> None:
    first = built(37)
    resumed = merkle.Builder(37, first.edge())
    resumed.extend(leaves(100)[37:])
    assert resumed.root() == rfc.mth(leaves(100))


def test_the_recorder_names_the_nodes_a_proof_reads() -> None:
    recorder = merkle.Recorder()
    merkle.inclusion_path(recorder, 5, 1000)
    assert 0 < len(recorder.wanted) <= 2 * 10


def test_extending_in_batches_equals_adding_one_by_one() -> None:
    one_by_one, batched = merkle.Builder(), merkle.Builder()
    for leaf in leaves(300):
        one_by_one.add(leaf)
    for low, high in [(0, 1), (1, 2), (2, 7), (7, 64), (64, 65), (65, 300)]:
        batched.extend(leaves(300)[low:high])
        for level in range(len(batched.levels)):
            batched.drop(level, batched.size >> level)  # what the sealer keeps
        assert batched.root() == rfc.mth(leaves(high))
    assert one_by_one.root() == batched.root()
