"""Replay as of a point: the numbers equal an independent count of the events up to
it (also while ingest goes on), and at the live checkpoint every number equals the
live read models' (through the same GraphQL endpoint)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import asyncpg
import pytest

from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.formats import ACCOUNT_ID
from tests.cli import cli_environment
from tests.integration import projection_world as pw


async def audit_cli(url: str, data_dir: Path, *args: str) -> tuple[int, str, str]:
    env = cli_environment(
        {"ANALYTICS_GRAPH_DATABASE_URL": url, "ANALYTICS_GRAPH_DATA_DIR": str(data_dir)}
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "analytics_graph", "audit", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def count(pool: asyncpg.Pool, sql: str, *args: object) -> int:
    return int(await pool.fetchval(sql, *args))


@pytest.mark.slow
async def test_replay_as_of_a_past_position_while_ingest_goes_on(
    database_url: str, pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    first, second = await pw.load(store, parts=2)
    await pw.ingest(store, first)
    point = await store.last_position()
    account = next(a for a in pw.world().accounts if a.is_pro)
    video = next(v for v in pw.world().videos if v.account_id == account.id)
    replaying = asyncio.create_task(
        audit_cli(
            database_url, tmp_path, "replay", "--as-of", str(point), "--account", str(account.id)
        )
    )
    replaying_video = asyncio.create_task(
        audit_cli(database_url, tmp_path, "replay", "--as-of", str(point), "--video", str(video.id))
    )
    await pw.ingest(store, second)  # the log grows while the replays run
    await pw.finish(store)
    status, out, err = await replaying
    assert status == 0, err
    answer = json.loads(out)
    overview = answer["data"]["account"]["analytics"]["overview"]
    views = f"SELECT count(*) FROM events WHERE type = $1 AND {ACCOUNT_ID} = $2 AND position <= $3"
    assert overview["videoViews"]["total"] == await count(
        pool, views, "view", str(account.id), point
    )
    assert overview["shares"]["total"] == await count(pool, views, "share", str(account.id), point)
    assert overview["videoViews"]["total"] < await count(
        pool, views, "view", str(account.id), await store.last_position()
    )  # later events are not in the replay
    status, out, err = await replaying_video
    assert status == 0, err
    analytics = json.loads(out)["data"]["video"]["analytics"]
    per_video = "SELECT count(*) FROM events WHERE type = $1 AND stream_id = $2 AND position <= $3"
    assert analytics["views"] == await count(pool, per_video, "view", str(video.id), point)
    assert analytics["comments"] == await count(pool, per_video, "comment", str(video.id), point)


@pytest.mark.slow
async def test_compare_at_the_live_checkpoint_finds_no_difference(
    database_url: str, store: EventStore, tmp_path: Path
) -> None:
    head = await pw.load_all(store)
    await pw.run_to(database_url, store, head)
    status, out, err = await audit_cli(database_url, tmp_path, "replay", "--compare")
    assert status == 0, out + err
    compared = int(out.split(": ")[1].split(" numbers")[0])
    assert compared > 10_000
    assert out.strip().endswith(f"{compared} numbers compared, 0 differ")


async def test_replay_refuses_unusable_input(database_url: str, tmp_path: Path) -> None:
    assert (await audit_cli(database_url, tmp_path, "replay"))[0] == 2
    status, _, err = await audit_cli(database_url, tmp_path, "replay", "--as-of", "next tuesday")
    assert status == 2 and "--as-of" in err
    status, _, err = await audit_cli(database_url, tmp_path, "replay", "--as-of", "99999")
    assert status == 2 and "final up to position 0" in err
