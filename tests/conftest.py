"""Fixtures shared by every test: a real PostgreSQL, a fresh database per test.

``ANALYTICS_GRAPH_TEST_DATABASE_URL`` (as in CI) points at a server where we may
create databases; without it the embedded server starts in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from analytics_graph.database import create_pool, embedded_server
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.schema import migrate

TEST_URL_VARIABLE = "ANALYTICS_GRAPH_TEST_DATABASE_URL"


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{base}/{name}" + (f"?{query}" if query else "")


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


@contextlib.asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """Creates an empty database, yields its DSN, drops it afterwards."""
    name = f"ag_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    async with scratch_database(server_url) as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
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
