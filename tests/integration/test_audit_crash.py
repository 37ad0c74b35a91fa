"""A sealer killed mid-batch (SIGKILL): once another finishes, no leaf is missing or
repeated, and every head signed before and after the kill agrees with the log."""

from __future__ import annotations

import asyncio
import random
import signal
import sys

import asyncpg
import pytest

from analytics_graph.audit import tree
from analytics_graph.audit.sealer import Sealer, SealerOptions
from analytics_graph.audit.verify import verify
from analytics_graph.eventstore import EventStore
from tests.integration import audit_rfc6962 as rfc
from tests.integration.audit_support import SIGNER, append_mixed, rows


async def sealed_size(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return (await tree.read_checkpoint(conn))[1]


@pytest.mark.slow
async def test_sigkill_mid_batch_leaves_no_leaf_missing_or_repeated(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    await append_mixed(store, 12_000, seed=4)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.audit_sealer_process", database_url
    )
    try:
        while await sealed_size(pool) < 3_000:  # well under way, far from done
            assert process.returncode is None
            await asyncio.sleep(0.02)
        await asyncio.sleep(random.Random(3).uniform(0, 0.03))
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    killed_at = await sealed_size(pool)
    assert 0 < killed_at < 12_000
    options = SealerOptions(batch_size=1_000, takeover_interval=0.05, retry_interval=0.05)
    async with Sealer(database_url, SIGNER, None, options) as sealer:  # takes over the lock
        while sealer.size < 12_000:  # noqa: ASYNC110 - the sealer has no event to wait on
            await asyncio.sleep(0.02)
    async with pool.acquire() as conn:
        events = await rows(conn)
        sealed = await tree.leaf_positions(conn, 0, 12_000)
        assert sealed == [e["position"] for e in events]  # each once, in order
        leaves = [rfc.leaf_of(e) for e in events]
        heads = await tree.all_heads(conn)
        assert heads[-1].tree_size == 12_000
        assert any(h.tree_size <= killed_at for h in heads)
        assert any(h.tree_size > killed_at for h in heads)
        for head in heads:
            assert head.valid() and head.root_hash == rfc.mth(leaves[: head.tree_size])
        report = await verify(conn)
        assert report.ok and report.events == 12_000, report.findings
