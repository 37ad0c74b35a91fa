"""Sealing the log: leaves as documented, proofs an independent verifier accepts."""

from __future__ import annotations

import random

import asyncpg
import pytest

from analytics_graph.audit import proofs, tree
from analytics_graph.audit.leaves import ROW_COLUMNS, hash_row, leaf_hashes_sql
from analytics_graph.audit.sealer import catch_up
from analytics_graph.eventstore import EventStore
from analytics_graph.types import Connection
from tests.integration import audit_rfc6962 as rfc
from tests.integration.audit_support import SIGNER, append_engagement, append_mixed, rows


async def test_sql_and_python_leaf_hashes_agree_with_the_documented_encoding(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await append_mixed(store, 300)
    async with pool.acquire() as conn:
        events = await rows(conn)
        in_sql = await conn.fetch(leaf_hashes_sql("true"))
        in_python = [
            hash_row(r)
            for r in await conn.fetch(f"SELECT {ROW_COLUMNS} FROM events ORDER BY position")
        ]
    independent = [rfc.leaf_of(e) for e in events]
    assert [bytes(r["leaf"]) for r in in_sql] == independent == in_python


async def check_proofs(
    conn: Connection, events: list[dict[str, object]], size: int, rng: random.Random
) -> None:
    leaves = [rfc.leaf_of(e) for e in events[:size]]
    head = await tree.head_at(conn, size)
    assert head is not None and head.valid()
    root = rfc.mth(leaves)
    assert head.root_hash == root
    for index in sorted({0, size - 1, rng.randrange(size), rng.randrange(size)}):
        proof = await proofs.inclusion(conn, int(events[index]["position"]), size)  # type: ignore[call-overload]
        assert (proof.leaf_index, proof.tree_size, proof.leaf_hash) == (index, size, leaves[index])
        assert rfc.verify_inclusion(index, size, leaves[index], proof.audit_path, root)


@pytest.mark.parametrize("sizes", [[1, 2, 3], [4, 5, 8, 9], [16, 17, 31, 64, 65]])
async def test_proofs_of_small_logs_verify_independently(
    database_url: str, pool: asyncpg.Pool, store: EventStore, sizes: list[int]
) -> None:
    rng = random.Random(sizes[0])
    sealed = 0
    async with pool.acquire() as conn:
        for size in sizes:
            await append_mixed(store, size - sealed, seed=size)
            assert await catch_up(database_url, SIGNER) == size
            sealed = size
        events = await rows(conn)
        for size in sizes:
            await check_proofs(conn, events, size, rng)
        for old in sizes:
            for new in sizes:
                if old <= new:
                    proof = await proofs.consistency(conn, old, new)
                    assert rfc.verify_consistency(
                        old,
                        new,
                        rfc.mth([rfc.leaf_of(e) for e in events[:old]]),
                        rfc.mth([rfc.leaf_of(e) for e in events[:new]]),
                        proof.path,
                    )


@pytest.mark.slow
async def test_proofs_of_a_log_of_100k_verify_independently(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    rng = random.Random(100)
    sizes = [2**16, 2**16 + 1, 100_003]
    sealed = 0
    for size in sizes:
        await append_engagement(store, size - sealed, seed=size)
        assert await catch_up(database_url, SIGNER, batch_size=30_000) == size
        sealed = size
    async with pool.acquire() as conn:
        events = await rows(conn)
        leaves = [rfc.leaf_of(e) for e in events]
        roots = {size: rfc.mth(leaves[:size]) for size in sizes}
        for size in sizes:
            head = await tree.head_at(conn, size)
            assert head is not None and head.valid() and head.root_hash == roots[size]
            picks = {0, 1, size - 2, size - 1, *(rng.randrange(size) for _ in range(20))}
            for index in sorted(picks):
                proof = await proofs.inclusion(conn, events[index]["position"], size)
                assert proof.leaf_index == index and proof.leaf_hash == leaves[index]
                assert rfc.verify_inclusion(
                    index, size, leaves[index], proof.audit_path, roots[size]
                )
        for old in [1, 2, 3, 2**16, 2**16 + 1, rng.randrange(1, 100_003)]:
            consistency = await proofs.consistency(conn, old, 100_003)
            old_root = roots.get(old) or rfc.mth(leaves[:old])
            assert rfc.verify_consistency(old, 100_003, old_root, roots[100_003], consistency.path)
