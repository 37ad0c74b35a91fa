"""Rebuilds: from position 0 into fresh tables, swapped in once caught up; the old
tables answer queries meanwhile; the numbers after equal the live-built ones."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from typer.testing import CliRunner, Result

import projections
from analytics_graph.cli import cli
from analytics_graph.eventstore import EventStore, NewEvent
from analytics_graph.projection import ProjectionRunner, rebuild, status
from analytics_graph.projection.batches import apply_batch
from analytics_graph.projection.checkpoints import Slot, read_all
from analytics_graph.projection.rebuild import swap_when_caught_up
from analytics_graph.projection.tables import start_build
from projections.engagement import accounts, videos
from projections.followers import queries as followers
from tests.integration import projection_world as pw
from tests.integration.projection_checks import check_all


async def dashboard(pool: asyncpg.Pool) -> list[Any]:
    """A sample of answers from every projection."""
    world = pw.world()
    end = world.config.end.date()
    start = end - timedelta(days=27)
    async with pool.acquire() as conn:
        answers: list[Any] = []
        for account in world.accounts[:3]:
            answers.append(await accounts.overview(conn, account.id, start, end))
            answers.append(await followers.follower_growth(conn, account.id, start, end))
        answers.append(await videos.video_analytics(conn, [v.id for v in world.videos[:40]]))
        return answers


async def test_rebuilt_numbers_equal_live_ones_and_queries_answer_throughout(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    head = await pw.load_all(store)
    await pw.run_to(database_url, store, head)
    before = await dashboard(pool)
    done, answered = asyncio.Event(), 0

    async def keep_asking() -> None:
        nonlocal answered
        while not done.is_set():
            assert await dashboard(pool) == before
            answered += 1

    asker = asyncio.create_task(keep_asking())
    seen: list[tuple[int, int]] = []
    for projection in projections.ALL:
        position = await rebuild(
            database_url, store, projection, batch_size=2_000,
            progress=lambda done, total: seen.append((done, total)),
        )  # fmt: skip
        assert position == head
    done.set()
    await asker
    assert answered >= 3
    assert seen[-1] == (head, head) and len(seen) > 4 * 10
    await check_all(pool, pw.world(), pw.expected())


async def test_a_version_bump_rebuilds_and_swaps_in_the_new_version(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    parts = await pw.load(store, parts=2)
    await pw.ingest(store, parts[0])
    await pw.run_to(database_url, store, await store.last_position())
    bumped = [dataclasses.replace(p, version=p.version + 1) for p in projections.ALL]
    async with ProjectionRunner(database_url, store, None, bumped, pw.FAST):
        await pw.ingest(store, parts[1])
        await pw.wait_applied(pool, await pw.finish(store), bumped)
    async with pool.acquire() as conn:
        found = {(c.name, c.slot): c.version for c in await read_all(conn)}
    assert found == {(p.name, Slot.LIVE): p.version for p in bumped}  # no build left over
    await check_all(pool, pw.world(), pw.expected())


async def test_an_older_runner_leaves_newer_tables_alone(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    head = await pw.load_all(store)
    bumped = [dataclasses.replace(p, version=p.version + 1) for p in projections.ALL]
    await pw.run_to(database_url, store, head, bumped)
    async with ProjectionRunner(database_url, store, None, projections.ALL, pw.FAST) as old:
        while not all(w.superseded for w in old.workers.values()):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    async with pool.acquire() as conn:
        rows = await status(conn, projections.ALL)
    assert [(r.live_version, r.code_version, r.lag_events) for r in rows] == [
        (p.version + 1, p.version, 0) for p in projections.ALL
    ]


async def test_a_newer_runner_rebuilds_beside_an_older_one_and_takes_over(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    """A rolling upgrade: the older runner keeps the live lock and keeps applying; the
    newer one builds its version beside it, swaps it in, and the older steps back."""
    first, second = await pw.load(store, parts=2)
    await pw.ingest(store, first)
    bumped = [dataclasses.replace(p, version=p.version + 1) for p in projections.ALL]
    async with ProjectionRunner(database_url, store, None, projections.ALL, pw.FAST) as old:
        await pw.wait_applied(pool, await store.last_position())
        async with ProjectionRunner(database_url, store, None, bumped, pw.FAST) as new:
            await pw.ingest(store, second, size=500)
            await pw.wait_applied(pool, await pw.finish(store), bumped)
            assert all(w.superseded for w in old.workers.values())
            assert not any(w.superseded for w in new.workers.values())
    await check_all(pool, pw.world(), pw.expected())


async def invoke(database_url: str, *args: str) -> Result:
    env = {"ANALYTICS_GRAPH_DATABASE_URL": database_url}
    return await asyncio.to_thread(lambda: CliRunner().invoke(cli, ["projections", *args], env=env))


async def test_the_commands_print_status_and_rebuild(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    head = await pw.load_all(store)
    result = await invoke(database_url, "status")
    assert result.exit_code == 0, result.output
    for projection in projections.ALL:
        assert f"{projection.name}" in result.output
    assert f"{head}" in result.output  # everything still to do: lag = the whole log
    result = await invoke(database_url, "rebuild", "followers")
    assert result.exit_code == 0, result.output
    assert f"followers v1 rebuilt and swapped in at position {head}" in result.output
    result = await invoke(database_url, "rebuild", "nope")
    assert result.exit_code != 0 and "known: entities" in result.output
    async with pool.acquire() as conn:
        rows = {r.name: r for r in await status(conn, projections.ALL)}
    assert (rows["followers"].position, rows["followers"].lag_events) == (head, 0)
    assert (rows["engagement"].position, rows["engagement"].lag_events) == (None, head)


async def test_a_rebuild_beside_a_live_runner_swaps_in_without_a_gap(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    """The live runner keeps applying new events while the rebuild runs; the swap
    takes over at (or past) its position, and the runner carries on from there."""
    first, second = await pw.load(store, parts=2)
    await pw.ingest(store, first)
    async with ProjectionRunner(database_url, store, None, projections.ALL, pw.FAST):
        await pw.wait_applied(pool, await store.last_position())
        ingesting = asyncio.create_task(pw.ingest(store, second, size=500))
        for projection in projections.ALL:
            await rebuild(database_url, store, projection, batch_size=3_000)
        await ingesting
        await pw.wait_applied(pool, await pw.finish(store))
    await check_all(pool, pw.world(), pw.expected())


async def test_the_swap_brings_a_lagging_build_up_to_the_live_position(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    """The live runner got past the build between its catch-up and the swap, over a
    hole left by a rolled-back append: the swap applies the rest itself."""
    first, second = await pw.load(store, parts=2)
    await pw.ingest(store, first)
    built = await store.last_position()
    async with pool.acquire() as writer:
        rolled_back = writer.transaction()
        await rolled_back.start()
        hole = NewEvent("rolled-back", "profileView", event_id=uuid.uuid4(), data={})
        await store.append([hole], conn=writer)
        await rolled_back.rollback()
    await pw.ingest(store, second)
    head = await pw.finish(store)
    await pw.run_to(database_url, store, head)
    conn = await asyncpg.connect(database_url)
    try:
        for projection in projections.ALL:
            await start_build(conn, projection, fresh=True)
            await apply_batch(conn, projection, Slot.BUILD, 0, built)
            assert await swap_when_caught_up(conn, projection) == head
    finally:
        await conn.close()
    await check_all(pool, pw.world(), pw.expected())
