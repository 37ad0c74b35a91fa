"""The compact format (migration 7, eventstore/formats.py) against real PostgreSQL: every
reader sees the JSON format 1 would have stored, and the auditors hash the same bytes."""

from __future__ import annotations

import uuid
from dataclasses import replace

import asyncpg
import orjson
import pytest

from analytics_graph.audit import tree
from analytics_graph.audit.leaves import ROW_COLUMNS, encode_fields, hash_row, leaf_hashes_sql
from analytics_graph.audit.merkle import leaf_hash
from analytics_graph.audit.sealer import catch_up
from analytics_graph.audit.verify import verify
from analytics_graph.database import create_pool
from analytics_graph.eventstore import EventStore, NewEvent
from analytics_graph.eventstore.formats import payload_text
from analytics_graph.eventstore.schema import MIGRATIONS, migrate
from analytics_graph.types import Connection
from tests.conftest import scratch_database
from tests.integration import projection_world as pw
from tests.integration.audit_support import SIGNER
from tests.integration.format_support import facts, format_1_only, json_text
from tests.integration.projection_checks import check_all

V6 = tuple(m for m in MIGRATIONS if m.version <= 6)
V6_COLUMNS = ["stream_id", "stream_version", "type", "event_id", "occurred_at", "data", "state"]


async def jsonb_texts(conn: Connection, events: list[NewEvent]) -> dict[uuid.UUID, str]:
    """What format 1 stores for each event: PostgreSQL's jsonb of its JSON text."""
    texts = await conn.fetch(
        "SELECT t::jsonb::text FROM unnest($1::text[]) t", [json_text(e) for e in events]
    )
    return {e.event_id: r[0] for e, r in zip(events, texts, strict=True) if e.event_id}


async def test_compact_rows_read_as_the_json_format_1_stores(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    events = facts(800)
    assert (await store.append_bulk(events)).accepted == 800
    async with pool.acquire() as conn:
        expected = await jsonb_texts(conn, events)
        rows = await conn.fetch(
            f"SELECT event_id, format, data, {payload_text()} AS got FROM events"
        )
    assert {r["format"] for r in rows} == {2} and all(r["data"] is None for r in rows)
    assert {r["event_id"]: r["got"] for r in rows} == expected
    read = await store.read_log(0, 1000)
    assert {e.event_id: e.data for e in read} == {k: orjson.loads(v) for k, v in expected.items()}


LOSSY = [
    {"note": "an unknown key"},
    {"searchTerm": None},
    {"viewer": {}},
    {"watchedSeconds": -0.0},
    {"accountId": "9F0C31A4-6D3B-4C55-9A0E-3B2A1F6E7D8C"},
    {"occurredAt": "2026-03-01T13:00:00+01:00"},
]


@pytest.mark.parametrize("change", LOSSY, ids=lambda c: next(iter(c)))
async def test_payloads_the_columns_cannot_give_back_stay_json(
    pool: asyncpg.Pool, store: EventStore, change: dict[str, object]
) -> None:
    view = next(e for e in facts(50) if e.type == "view")
    event = replace(view, data={**view.data, **change})
    await store.append_bulk([event])
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT format, data::text AS data FROM events")
        assert row is not None and row["format"] is None
        assert [row["data"]] == list((await jsonb_texts(conn, [event])).values())


async def test_leaf_bytes_are_those_of_the_json(pool: asyncpg.Pool, store: EventStore) -> None:
    events = facts(400, seed=11)
    await store.append_bulk(events)
    async with pool.acquire() as conn:
        expected = await jsonb_texts(conn, events)
        rows = await conn.fetch(f"SELECT {ROW_COLUMNS} FROM events ORDER BY position")
        in_sql = {r[0]: r[1] for r in await conn.fetch(leaf_hashes_sql("true"))}
    for row in rows:
        fields = dict(row) | {"data": expected[row["event_id"]]}
        want = leaf_hash(encode_fields(**fields))
        assert hash_row(row) == want == in_sql[row["position"]]


async def write_format_1(conn: asyncpg.Connection, events: list[NewEvent]) -> None:
    """As the store wrote before migration 7 (its columns, JSON text)."""
    records = [(e.stream_id, e.stream_version, e.type, e.event_id, e.occurred_at,
                None if e.state else json_text(e), e.state) for e in events]  # fmt: skip
    async with conn.transaction():
        await conn.execute("SELECT pg_current_xact_id()")
        await conn.copy_records_to_table("events", records=records, columns=V6_COLUMNS)


async def test_migrations_7_and_8_rewrite_nothing_and_old_rows_hash_as_before(
    server_url: str,
) -> None:
    old, new = facts(300, seed=3), facts(300, seed=4)
    aggregate = NewEvent("acct-1", "Account.Changed", 1, state=b"\x00state")
    async with scratch_database(server_url) as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, V6)
            await write_format_1(conn, [*old[:150], aggregate, *old[150:]])
            before = await conn.fetch(
                "SELECT ctid, xmin::text, position, stream_id, stream_version, type, event_id,"
                " occurred_at, recorded_at, data::text AS data, state FROM events ORDER BY position"
            )
            assert await migrate(conn) == [7, 8]  # the compact format; the table attached
            after = await conn.fetch(
                "SELECT ctid, xmin::text, tableoid::regclass::text FROM events ORDER BY position"
            )
            assert [tuple(r) for r in after] == [(r["ctid"], r["xmin"], "events_0") for r in before]
            pool = await create_pool(url, min_size=1, max_size=2)
            try:
                await EventStore(pool).append_bulk(new)
            finally:
                await pool.close()
            size = await catch_up(url, SIGNER)
            assert size == len(old) + 1 + len(new)
            report = await verify(conn)
            assert report.ok, report.findings
            sealed = await tree.fetch_nodes(conn, {(0, i) for i in range(len(before))})
            assert [sealed[(0, i)] for i in range(len(before))] == [
                hash_row(r) for r in before
            ]  # the bytes the code before migration 7 hashed
            formats = await conn.fetch("SELECT format, count(*) FROM events GROUP BY 1 ORDER BY 1")
            assert [tuple(r) for r in formats] == [(2, len(new)), (None, len(old) + 1)]
        finally:
            await conn.close()


async def test_projections_over_a_log_of_both_formats_match_the_oracle(
    database_url: str, pool: asyncpg.Pool, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first half of the world as the log held it before migration 7 (JSON), the rest
    compact; every read model built from position 0 equals the independent oracle."""
    first, second = await pw.load(store, parts=2)
    with format_1_only(monkeypatch):
        await pw.ingest(store, first)
    await pw.ingest(store, second)
    last = await pw.finish(store)
    async with pool.acquire() as conn:
        counts: dict[bool, int] = dict(
            await conn.fetch(  # type: ignore[arg-type]
                "SELECT format IS NOT NULL, count(*) FROM events WHERE event_id IS NOT NULL"
                " GROUP BY 1"
            )
        )
    assert counts[False] > 10_000 and counts[True] > 10_000
    await pw.run_to(database_url, store, last)
    await check_all(pool, pw.world(), pw.expected())
