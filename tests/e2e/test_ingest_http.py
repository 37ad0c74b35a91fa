"""``POST /ingest`` through the real app under uvicorn, on real PostgreSQL."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import asyncpg
import orjson
import pytest
from typer.testing import CliRunner, Result

from analytics_graph.auth import Role
from analytics_graph.cli import cli
from tests.e2e.ingest_support import NDJSON, bearer, body, world_served


@pytest.fixture(params=[0, 2], ids=["in-process", "2-workers"])
def processes(request: pytest.FixtureRequest) -> int:
    """``ingest_processes``: the serving process itself, or two worker processes."""
    return int(request.param)


async def test_a_request_is_stored_once_and_a_resend_counts_duplicates(
    server_url: str, tmp_path: Path, processes: int
) -> None:
    async with world_served(server_url, tmp_path, ingest_processes=processes) as w:
        events = w.events[:500]
        first = await w.ingest(body(events))
        assert first.status_code == 200, first.text
        answer = first.json()
        assert answer == {
            "accepted": 500,
            "duplicates": 0,
            "rejected": [],
            "rejectedCount": 0,
            "lines": 500,
            "written": True,
            "position": answer["position"],
        }
        assert answer["position"] == await w.pool.fetchval("SELECT max(position) FROM events")
        again = (await w.ingest(body(events[:300] + w.events[500:600]))).json()
        assert (again["accepted"], again["duplicates"]) == (100, 300)
        assert sorted(await w.stored_ids()) == sorted(e["eventId"] for e in w.events[:600])
        only_duplicates = (await w.ingest(body(events[:10]))).json()
        assert only_duplicates["accepted"] == 0 and only_duplicates["position"] is None


async def test_one_request_is_one_unit_across_its_batches(
    server_url: str, tmp_path: Path, processes: int
) -> None:
    async with world_served(
        server_url, tmp_path, max_ingest_batch=100, ingest_processes=processes
    ) as w:
        events = w.events[:250]
        lines = body(events).split(b"\n")
        lines[219] = b'{"type": "view", "eventId": "not-a-uuid"}'  # line 220, third batch
        lines[4] = orjson.dumps({**events[4], "watchedSeconds": -1})  # line 5, first batch
        refused = await w.ingest(b"\n".join(lines))
        assert refused.status_code == 422
        answer = refused.json()
        assert answer["written"] is False and answer["accepted"] == 0
        assert answer["rejectedCount"] == 2
        assert [(r["line"], r["field"]) for r in answer["rejected"]] == [
            (5, "watchedSeconds"),
            (220, "occurredAt"),
        ]
        assert await w.stored() == 0  # the valid batches were not written either
        skipped = await w.ingest(b"\n".join(lines), query="?skipInvalid=true")
        assert skipped.status_code == 200
        assert skipped.json()["accepted"] == 248 and skipped.json()["written"] is True
        assert await w.stored() == 248


async def test_gzip_bodies_and_the_refusal_of_a_gzip_bomb(
    server_url: str, tmp_path: Path, processes: int
) -> None:
    async with world_served(
        server_url, tmp_path, ingest_max_body_bytes=1_000_000, ingest_processes=processes
    ) as w:
        compressed = gzip.compress(body(w.events[:200]))
        sent = await w.ingest(compressed, headers={"Content-Encoding": "gzip"})
        assert sent.status_code == 200 and sent.json()["accepted"] == 200
        # 50 MB of newlines in about 50 kB: refused once a million bytes came out
        bomb = gzip.compress(b"\n" * 50_000_000)
        assert len(bomb) < 100_000
        refused = await w.ingest(bomb, headers={"Content-Encoding": "gzip"})
        assert refused.status_code == 413
        assert refused.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
        assert "decompressed" in refused.json()["error"]["message"]
        broken = await w.ingest(compressed[:-20], headers={"Content-Encoding": "gzip"})
        assert broken.status_code == 400 and "gzip" in broken.json()["error"]["message"]
        assert await w.stored() == 200


async def test_limits_types_and_roles_are_refused_before_any_work(
    server_url: str, tmp_path: Path, processes: int
) -> None:
    changes = {"ingest_max_body_bytes": 200_000, "ingest_max_lines": 300}
    async with world_served(server_url, tmp_path, **changes, ingest_processes=processes) as w:
        events = body(w.events[:100])
        wrong_type = await w.ingest(events, headers={"Content-Type": "application/json"})
        assert wrong_type.status_code == 415
        assert "application/x-ndjson" in wrong_type.json()["error"]["message"]
        deflate = await w.ingest(events, headers={"Content-Encoding": "br"})
        assert deflate.status_code == 415
        anonymous = await w.http.post("/ingest", content=events, headers=NDJSON)
        assert anonymous.status_code == 401
        creator = bearer(Role.CREATOR, w.world.accounts[0].id)
        assert (await w.ingest(events, headers=creator)).status_code == 403
        auditor = await w.ingest(events, headers=bearer(Role.AUDITOR))
        assert auditor.status_code == 403 and "auditor" in auditor.json()["error"]["message"]
        assert (await w.ingest(events, headers=bearer(Role.ADMIN))).status_code == 200
        too_big = await w.ingest(b"\n" * 200_001)
        assert too_big.status_code == 413
        too_many = await w.ingest(b"\n" * 301)
        assert too_many.status_code == 413 and "300 lines" in too_many.json()["error"]["message"]
        wrong_method = await w.http.get("/ingest", headers=bearer())
        assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"
        assert wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
        bad_flag = await w.ingest(events, query="?skipInvalid=maybe")
        assert bad_flag.status_code == 400 and "skipInvalid" in bad_flag.json()["error"]["message"]
        assert await w.stored() == 100


async def test_bom_blank_lines_nul_and_overlong_lines(
    server_url: str, tmp_path: Path, processes: int
) -> None:
    async with world_served(
        server_url, tmp_path, ingest_max_line_bytes=2_000, ingest_processes=processes
    ) as w:
        e = w.events
        nul = {**e[3], "viewerId": "a\u0000b"} if "viewerId" in e[3] else {**e[3], "userId": "\0"}
        lines = [
            b"\xef\xbb\xbf" + orjson.dumps(e[0]),
            b"",
            orjson.dumps(e[1]),
            b"   ",
            orjson.dumps(nul),
            b'{"pad": "' + b"x" * 3_000 + b'"}',
            orjson.dumps(e[2]),
            b"",
        ]
        answer = (await w.ingest(b"\n".join(lines), query="?skipInvalid=true")).json()
        assert answer["accepted"] == 3
        rejected = {r["line"]: r for r in answer["rejected"]}
        assert set(rejected) == {5, 6}
        assert rejected[5]["field"] in ("viewerId", "userId")
        assert "NUL" in rejected[5]["reason"]
        assert rejected[6]["field"] is None and "2000 bytes" in rejected[6]["reason"]


async def test_a_saturated_pool_answers_503_with_retry_after_and_writes_nothing(
    server_url: str, tmp_path: Path, processes: int
) -> None:
    changes = {"pool_min_size": 1, "pool_max_size": 2, "database_acquire_timeout": 0.5}
    async with world_served(server_url, tmp_path, **changes, ingest_processes=processes) as w:
        blocker = await asyncpg.connect(w.database_url)
        try:
            locked = blocker.transaction()
            await locked.start()
            await blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            # More requests than connections: 2 in the server, or 2 in each worker (each
            # new connection of the client goes to the next worker).
            count = 4 + 2 * processes
            batches = [body(w.events[i * 100 : (i + 1) * 100]) for i in range(count)]
            tasks = [asyncio.create_task(w.ingest(b)) for b in batches]
            done, _ = await asyncio.wait(tasks, timeout=20, return_when=asyncio.FIRST_COMPLETED)
            refused = [t.result() for t in done]
            assert refused and all(r.status_code == 503 for r in refused)
            assert refused[0].headers["Retry-After"] == "2"
            assert refused[0].json()["error"]["code"] == "SERVICE_UNAVAILABLE"
            await locked.rollback()
            answers = [await t for t in tasks]
        finally:
            await blocker.close()
        for batch, answer in zip(batches, answers, strict=True):
            if answer.status_code == 503:  # the collector resends
                answer = await w.ingest(batch)
            assert answer.status_code == 200
        assert await w.stored() == 100 * count


async def test_an_unreachable_database_answers_503(
    server_url: str, tmp_path: Path, processes: int
) -> None:
    async with world_served(
        server_url, tmp_path, database_acquire_timeout=2.0, ingest_processes=processes
    ) as w:
        admin = await asyncpg.connect(server_url)
        name = w.database_url.rsplit("/", 1)[1]
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND application_name = 'analytics-graph'",
                name,
            )
            refused = await w.ingest(body(w.events[:50]))
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "2"
            health = await w.http.get("/healthz")
            assert health.status_code == 503
            assert (await w.http.get("/readyz")).status_code == 503
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()
        again = await w.ingest(body(w.events[:50]))
        assert again.status_code == 200 and again.json()["accepted"] == 50


async def _cli(*args: str, database_url: str = "") -> Result:
    env = {"ANALYTICS_GRAPH_DATABASE_URL": database_url} if database_url else {}

    def run() -> Result:
        return CliRunner().invoke(cli, ["ingest", *args], env=env)

    return await asyncio.to_thread(run)


async def test_the_collector_client_posts_chunks_and_resends_after_503(
    server_url: str, tmp_path: Path
) -> None:
    changes = {"pool_min_size": 1, "pool_max_size": 1, "database_acquire_timeout": 0.3}
    async with world_served(server_url, tmp_path, **changes) as w:
        lines = body(w.events[:1_000]).split(b"\n")
        lines[449] = b'{"type": "view"}'  # line 450 of the file: the second chunk of 400
        path = tmp_path / "events.ndjson"
        path.write_bytes(b"\n".join(lines))
        before = await w.http.get("/metrics")
        blocker = await asyncpg.connect(w.database_url)
        try:
            locked = blocker.transaction()
            await locked.start()
            await blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            args = [str(path), "--url", w.base_url, "--token", bearer()["Authorization"][7:]]
            run = asyncio.create_task(_cli(*args, "--batch-size", "400", "--writers", "3"))
            await asyncio.sleep(3)  # the chunks not waiting on the lock were answered 503
            await locked.rollback()
            result = await run
        finally:
            await blocker.close()
        after = await w.http.get("/metrics")
        assert result.exit_code == 1, result.output
        assert "accepted: 600\n" in result.output  # chunks 1 and 3; chunk 2 refused whole
        assert "line 450: eventId: is required" in result.output
        assert "batch of lines 401-800 was rejected whole" in result.output
        assert await w.stored() == 600
        unavailable = "analytics_graph_ingest_unavailable_total "
        assert sample_of(after.text, unavailable) > sample_of(before.text, unavailable)
        again = await _cli(*args, "--skip-invalid")
        assert again.exit_code == 1 and "accepted: 399\n" in again.output
        assert "duplicates: 600\n" in again.output
        assert await w.stored() == 999
        refused = await _cli(str(path), "--url", w.base_url, "--token", "not-a-token")
        assert refused.exit_code == 3 and "401" in refused.output


def sample_of(text: str, prefix: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return float(line.split()[-1])


async def test_ingest_with_two_writers_stores_every_event_once(
    server_url: str, tmp_path: Path
) -> None:
    async with world_served(server_url, tmp_path) as w:
        events = list(w.world.events())  # with its re-deliveries
        path = tmp_path / "events.ndjson"
        path.write_bytes(body(events))
        result = await _cli(
            str(path), "--writers", "2", "--batch-size", "100", database_url=w.database_url
        )
        assert result.exit_code == 0, result.output
        unique = len({e["eventId"] for e in events})
        assert f"accepted: {unique}\n" in result.output
        assert f"duplicates: {len(events) - unique}\n" in result.output
        assert sorted(await w.stored_ids()) == sorted({e["eventId"] for e in events})


async def test_record_engagement_refuses_a_nul_by_index_and_field(
    server_url: str, tmp_path: Path
) -> None:
    async with world_served(server_url, tmp_path) as w:
        view = next(e for e in w.events if e["type"] == "view")
        fields = {k: v for k, v in view.items() if k != "type"}
        mutation = """mutation ($events: [EngagementEventInput!]!) {
          recordEngagement(events: $events) {
            ... on IngestRejected { rejected { index field reason } } } }"""
        events = [{"view": fields}, {"view": {**fields, "eventId": EVENT, "viewerId": "a\0b"}}]
        answer = await w.http.post(
            "/graphql",
            json={"query": mutation, "variables": {"events": events}},
            headers=bearer(Role.ADMIN),
        )
        (rejected,) = answer.json()["data"]["recordEngagement"]["rejected"]
        assert (rejected["index"], rejected["field"]) == (1, "viewerId")
        assert "NUL" in rejected["reason"]
        assert await w.stored() == 0


EVENT = "5d0a3f8e-7c1b-4e2a-9f6d-3b8c1e0a7d42"
