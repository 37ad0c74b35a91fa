"""A server's background work in a process of its own, for the webhook SIGKILL test.

``python -m tests.integration.webhook_process URL`` opens the system (projections,
webhook dispatcher and sender; loopback receivers allowed, quick retries) until killed.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from analytics_graph.bootstrap import open_system
from analytics_graph.config import Settings


async def main(url: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=url,
            data_dir=Path(folder),
            webhooks_allow_private=True,
            webhook_timeout_seconds=1.0,
            webhook_metrics_interval_seconds=0.0,
            webhook_retry_base_seconds=0.05,
            webhook_retry_cap_seconds=0.2,
        )
        async with open_system(settings):
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
