"""Fixtures shared by every test: a real PostgreSQL, a fresh database per test.

``ANALYTICS_GRAPH_TEST_DATABASE_URL`` (as in CI) points at a server where we may
create databases; without it the embedded server starts in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from analytics_graph import database
from analytics_graph.database import create_pool, embedded_server
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.schema import migrated_scratch

TEST_URL_VARIABLE = "ANALYTICS_GRAPH_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A DSN of a server on which tests may create databases."""
    url = os.environ.get(TEST_URL_VARIABLE)
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="analytics-graph-test-") as folder:  # pragma: no cover
        with embedded_server(Path(folder)) as embedded:
            yield embedded


def scratch_database(server_url: str) -> contextlib.AbstractAsyncContextManager[str]:
    """Creates an empty database, yields its DSN, drops it afterwards."""
    return database.scratch_database(server_url, "ag_test")


@pytest.fixture
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    async with migrated_scratch(server_url, "ag_test") as url:
        yield url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=10)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def store(pool: asyncpg.Pool) -> EventStore:
    return EventStore(pool)
