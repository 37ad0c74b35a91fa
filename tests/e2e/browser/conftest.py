"""The browser tests' world: simulated creators whose weeks end now (so the presets of
the page cover their events), served by the real app under uvicorn on PostgreSQL,
and one headless chromium for the package."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser

from analytics_graph.simulation import SimulationConfig
from tests.e2e.browser.chromium import chromium
from tests.e2e.graphql_support import Served, serve

CONFIG = SimulationConfig(
    seed=13,
    accounts=3,
    pro_ratio=1.0,
    videos_per_account=6,
    users=2_000,
    events=24_000,
    weeks=6,
    end=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10),
)


@pytest.fixture(scope="package")
async def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("browser"), CONFIG) as served:
        yield served


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched
