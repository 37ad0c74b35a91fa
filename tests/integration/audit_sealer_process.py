"""A sealer in a process of its own, for the SIGKILL test.

``python -m tests.integration.audit_sealer_process URL`` seals in batches of 300,
each pausing inside its transaction (after the tree and the head are written,
before the checkpoint advance), until killed.
"""

from __future__ import annotations

import asyncio
import sys

from analytics_graph.audit import tree
from analytics_graph.audit.heads import TreeHead
from analytics_graph.audit.sealer import Sealer, SealerOptions
from analytics_graph.types import Connection
from tests.integration.audit_support import SIGNER

_insert_head = tree.insert_head


async def slow_insert_head(conn: Connection, head: TreeHead) -> None:
    await _insert_head(conn, head)
    await asyncio.sleep(0.03)


async def main(url: str) -> None:
    tree.insert_head = slow_insert_head
    options = SealerOptions(batch_size=300, takeover_interval=0.05, retry_interval=0.05)
    async with Sealer(url, SIGNER, None, options):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
