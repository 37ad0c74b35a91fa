"""The demo data set: a few Pro creators, dozens of videos, weeks of engagement.

``analytics-graph serve --demo`` (and a first ``serve`` on an empty embedded
database) loads it through the regular ingest, waits for the read models to
catch up, and prints a creator token, the dashboard link and the GraphiQL address, so a newcomer
sees real numbers in a minute.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID

from analytics_graph.auth import Role, issue_token, signing_secret
from analytics_graph.bootstrap import System
from analytics_graph.config import Mode
from analytics_graph.projection import wait_until_applied
from analytics_graph.simulation import SimulationConfig, World, generate_world, load_world
from projections import ALL as PROJECTIONS
from projections.entities import queries as entities

log = logging.getLogger(__name__)

DASHBOARD = """query Dashboard {
  me {
    handle isPro followerCount
    analytics(range: {preset: LAST_28_DAYS}) {
      range { start end }
      overview { videoViews { total previousTotal changeRatio daily { date value } } }
      content { trendingVideos { video { caption } views viewsGained7d } }
      followers { total gained lost activeHours { hour value } }
    }
  }
}"""


def demo_config(now: datetime | None = None) -> SimulationConfig:
    """Six creators (most of them Pro), about fifty videos, eight weeks up to now."""
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) - timedelta(minutes=1)
    return SimulationConfig(
        seed=2025,
        accounts=6,
        pro_ratio=0.8,
        videos_per_account=8,
        users=8_000,
        events=120_000,
        end=end,
        weeks=8,
    )


@dataclass(frozen=True, slots=True)
class DemoAccount:
    account_id: UUID
    handle: str
    token: str


async def is_empty(system: System) -> bool:
    """True when the log holds no event yet."""
    return await system.store.last_position() == 0


async def load_demo(system: System, config: SimulationConfig | None = None) -> World:
    """Writes the demo world into the (empty) log and waits for the read models."""
    world = generate_world(config or demo_config())
    started = time.monotonic()
    report = await load_world(world, system.store)
    log.info("demo: %s events ingested in %.1fs", report.accepted, time.monotonic() - started)
    position = await system.store.last_position()
    async with system.pool.acquire() as conn:
        await wait_until_applied(conn, PROJECTIONS, position, within=600)
    return world


def demo_creator(system: System, world: World) -> DemoAccount:
    """The Pro creator with the most videos, and a token for them."""
    counts = {a.id: 0 for a in world.accounts if a.is_pro}
    for video in world.videos:
        if video.account_id in counts:
            counts[video.account_id] += 1
    best = max(counts, key=lambda account_id: counts[account_id])
    handle = next(a.handle for a in world.accounts if a.id == best)
    token = issue_token(signing_secret(system.settings), Role.CREATOR, best)
    return DemoAccount(best, handle, token)


def graphiql_url(base_url: str, token: str) -> str:
    """GraphiQL with the token in its headers and a dashboard query in its editor."""
    headers = json.dumps({"Authorization": f"Bearer {token}"})
    return f"{base_url}/graphql?headers={quote(headers)}&q={quote(DASHBOARD)}"


def dashboard_url(base_url: str, token: str) -> str:
    """The dashboard page, signed in by the token in the link's fragment (which the
    browser never sends to the server; the page moves it to the tab's session storage)."""
    return f"{base_url}/#token={quote(token)}"


def welcome(creator: DemoAccount, base_url: str, *, development: bool) -> str:
    """What ``serve --demo`` prints once the demo data is in."""
    lines = [
        f"Demo data loaded. Creator @{creator.handle} (account {creator.account_id}).",
        "Bearer token:",
        creator.token,
        "Dashboard (signed in as this creator):",
        dashboard_url(base_url, creator.token),
    ]
    if development:
        lines += [
            "GraphiQL (token and a dashboard query filled in):",
            graphiql_url(base_url, creator.token),
        ]
    else:
        lines += [f"GraphQL endpoint: {base_url}/graphql (production mode: no GraphiQL)"]
    return "\n".join(lines)


def on_ready(base_url: str, *, forced: bool) -> Callable[[System], Coroutine[Any, Any, None]]:
    """What ``serve`` runs once the system is open: the demo data when asked for (or on
    a first start of the embedded database), then the welcome text on standard output."""

    async def ready(system: System) -> None:
        embedded = system.settings.database_url is None
        empty = await is_empty(system)
        if not (forced or (embedded and empty)):
            return
        if empty:
            print("Loading the demo data set (the API answers meanwhile) ...", flush=True)
            world = await load_demo(system)
        else:
            world = generate_world(demo_config())  # the same accounts: ids come from the seed
        creator = demo_creator(system, world)
        if not empty and not await _exists(system, creator.account_id):
            print("The log is not empty: the demo data set loads only into an empty log.")
            return
        development = system.settings.mode is Mode.DEVELOPMENT
        print(welcome(creator, base_url, development=development), flush=True)

    return ready


async def _exists(system: System, account_id: UUID) -> bool:
    async with system.pool.acquire() as conn:
        return bool(await entities.accounts(conn, [account_id]))
