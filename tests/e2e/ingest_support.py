"""What the HTTP ingest tests share: a served database holding a simulated world's
accounts and videos (not its engagement), tokens, NDJSON bodies."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from starlette.datastructures import Secret

from analytics_graph.auth import Role, issue_token
from analytics_graph.config import Settings
from analytics_graph.database import create_pool
from analytics_graph.eventstore import EventStore
from analytics_graph.simulation import SimulationConfig, World, aggregate_events, generate_world
from tests.conftest import scratch_database
from tests.e2e.conftest import serving

SECRET = "ingest-e2e-signing-secret-of-32-bytes-or-more"
CONFIG = SimulationConfig(seed=16, accounts=3, events=1_200, weeks=1)
NDJSON = {"Content-Type": "application/x-ndjson"}


def bearer(role: Role = Role.INGEST, account: Any = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, role, account)}"}


def body(events: Iterable[dict[str, Any]], *, trailing: bytes = b"\n") -> bytes:
    return b"\n".join(orjson.dumps(e) for e in events) + trailing


@dataclass
class World16:
    """A served app on a fresh database with a world's accounts and videos stored."""

    base_url: str
    database_url: str
    pool: asyncpg.Pool
    world: World
    http: httpx.AsyncClient

    @property
    def events(self) -> list[dict[str, Any]]:
        """The world's engagement events, each eventId once (re-deliveries left out)."""
        seen: set[str] = set()
        unique = []
        for event in self.world.events():
            if event["eventId"] not in seen:
                seen.add(event["eventId"])
                unique.append(event)
        return unique

    async def stored(self) -> int:
        sql = "SELECT count(*) FROM events WHERE event_id IS NOT NULL"
        return int(await self.pool.fetchval(sql))

    async def stored_ids(self) -> list[str]:
        sql = "SELECT event_id::text FROM events WHERE event_id IS NOT NULL"
        return [r[0] for r in await self.pool.fetch(sql)]

    async def ingest(
        self, content: bytes, *, query: str = "", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        sent = {**NDJSON, **bearer(), **(headers or {})}
        return await self.http.post("/ingest" + query, content=content, headers=sent)


def settings_for(url: str, data_dir: Path, **changes: Any) -> Settings:
    settings = Settings(database_url=url, data_dir=data_dir, secret=Secret(SECRET))
    return replace(settings, **changes)


@contextlib.asynccontextmanager
async def world_served(server_url: str, data_dir: Path, **changes: Any) -> AsyncIterator[World16]:
    """Serves a fresh database with the world's aggregates; ``changes`` alter the settings."""
    world = generate_world(CONFIG)
    async with scratch_database(server_url) as url:
        pool = await create_pool(url, min_size=1, max_size=4)
        try:
            from analytics_graph.eventstore.schema import migrate

            async with pool.acquire() as conn:
                await migrate(conn)
            await EventStore(pool).append(aggregate_events(world))
            async with (
                serving(settings_for(url, data_dir, **changes)) as base_url,
                httpx.AsyncClient(base_url=base_url, timeout=60) as http,
            ):
                yield World16(base_url, url, pool, world, http)
        finally:
            await pool.close()
