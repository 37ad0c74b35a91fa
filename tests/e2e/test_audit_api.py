"""The sealed log through GraphQL: heads, proofs checked by an independent RFC 6962
verifier, who may ask (auditors and admins only), and eventLog's new filters."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from analytics_graph.auth import Role
from analytics_graph.eventstore.formats import payload
from analytics_graph.simulation import SimulationConfig
from tests.e2e.graphql_support import Served, serve, token
from tests.integration import audit_rfc6962 as rfc

CONFIG = SimulationConfig(seed=8, accounts=4, pro_ratio=0.75, events=2_000, users=300, weeks=2)
HEAD = "{ logHead { treeSize rootHash sealedAt signature publicKey } }"
TREE_HEAD = "query H($s: Position!) { treeHead(size: $s) { treeSize rootHash } }"
INCLUSION = """query I($p: Position!, $n: Position) {
  inclusionProof(position: $p, treeSize: $n) { leafIndex treeSize leafHash auditPath } }"""
CONSISTENCY = """query C($a: Position!, $b: Position) {
  consistencyProof(fromSize: $a, toSize: $b) { fromSize toSize path } }"""
LOG = """query L($after: Position, $filters: ID, $of: DateTime, $ot: DateTime,
                 $rf: DateTime, $rt: DateTime) {
  eventLog(after: $after, first: 1000, accountId: $filters, occurredFrom: $of,
           occurredTo: $ot, recordedFrom: $rf, recordedTo: $rt) {
    events { position streamId } endPosition hasNextPage } }"""
AUDITOR, ADMIN = token(Role.AUDITOR), token(Role.ADMIN)


@pytest.fixture(scope="module")
async def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("audit"), CONFIG) as served:
        total = await served.log_size()
        for _ in range(600):  # the server's sealer catches up (no wall-clock assertion)
            body = (await served.post(HEAD, token=AUDITOR)).json()
            if body.get("data") and body["data"]["logHead"]["treeSize"] == total:
                break
            await asyncio.sleep(0.05)
        yield served


async def rows(world: Served) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(world.database_url)
    try:
        found = await conn.fetch(
            "SELECT position, stream_id, stream_version, type, event_id, occurred_at, "
            f"recorded_at, ({payload()})::text AS data, state FROM events ORDER BY position"
        )
        return [dict(r) for r in found]
    finally:
        await conn.close()


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_the_head_covers_the_whole_log_and_its_signature_verifies(world: Served) -> None:
    events = await rows(world)
    head = (await world.data(HEAD, token=AUDITOR))["logHead"]
    assert head["treeSize"] == len(events)
    assert head["rootHash"] == rfc.mth([rfc.leaf_of(e) for e in events]).hex()
    sealed_at = datetime.fromisoformat(head["sealedAt"])
    micros = (sealed_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    message = b"AGTH\x01" + struct.pack(">Q", head["treeSize"]) + bytes.fromhex(head["rootHash"])
    message += struct.pack(">q", micros)
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(head["publicKey"]))
    key.verify(bytes.fromhex(head["signature"]), message)  # raises when it does not verify
    same = await world.data(TREE_HEAD, {"s": str(head["treeSize"])}, token=ADMIN)
    assert same["treeHead"] == {"treeSize": head["treeSize"], "rootHash": head["rootHash"]}
    conn = await asyncpg.connect(world.database_url)
    try:
        signed = {r[0] for r in await conn.fetch("SELECT tree_size FROM audit_heads")}
    finally:
        await conn.close()
    unsigned = min(set(range(1, head["treeSize"] + 2)) - signed)
    assert (await world.data(TREE_HEAD, {"s": unsigned}, token=ADMIN))["treeHead"] is None


async def test_proofs_verify_independently(world: Served) -> None:
    events = await rows(world)
    leaves = [rfc.leaf_of(e) for e in events]
    size = len(events)
    for index in (0, 1, size // 2, size - 1):
        proof = (await world.data(INCLUSION, {"p": events[index]["position"]}, token=AUDITOR))[
            "inclusionProof"
        ]
        assert proof["leafIndex"] == index and proof["treeSize"] == size
        assert proof["leafHash"] == leaves[index].hex()
        path = [bytes.fromhex(h) for h in proof["auditPath"]]
        assert rfc.verify_inclusion(index, size, leaves[index], path, rfc.mth(leaves))
    proof = (await world.data(CONSISTENCY, {"a": 1}, token=AUDITOR))["consistencyProof"]
    assert (proof["fromSize"], proof["toSize"]) == (1, size)
    path = [bytes.fromhex(h) for h in proof["path"]]
    assert rfc.verify_consistency(1, size, leaves[0], rfc.mth(leaves), path)


async def test_proofs_refuse_what_is_not_sealed(world: Served) -> None:
    size = (await world.data(HEAD, token=AUDITOR))["logHead"]["treeSize"]
    body = (await world.post(INCLUSION, {"p": 10**12}, token=AUDITOR)).json()
    assert codes(body) == ["BAD_USER_INPUT"] and "position" in body["errors"][0]["message"]
    body = (await world.post(INCLUSION, {"p": 1, "n": size + 1}, token=AUDITOR)).json()
    assert codes(body) == ["BAD_USER_INPUT"] and "treeSize" in body["errors"][0]["message"]
    body = (await world.post(CONSISTENCY, {"a": size + 1}, token=AUDITOR)).json()
    assert codes(body) == ["BAD_USER_INPUT"] and "fromSize" in body["errors"][0]["message"]
    body = (await world.post(INCLUSION, {"p": "-1"}, token=AUDITOR)).json()
    assert body.get("data") is None and "position" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [(HEAD, {}), (TREE_HEAD, {"s": 1}), (INCLUSION, {"p": 1}), (CONSISTENCY, {"a": 1})],
)
async def test_only_auditors_and_admins_may_ask(
    world: Served, query: str, variables: dict[str, Any]
) -> None:
    assert world.world is not None
    creator = token(Role.CREATOR, world.world.accounts[0].id)
    for who in (AUDITOR, ADMIN):
        body = (await world.post(query, variables, token=who)).json()
        assert "errors" not in body, body
    for who in (creator, token(Role.INGEST)):
        body = (await world.post(query, variables, token=who)).json()
        assert codes(body) == ["FORBIDDEN"], body
        assert body["data"] is None or set(body["data"].values()) == {None}
    assert codes((await world.post(query, variables)).json()) == ["UNAUTHENTICATED"]


async def all_pages(world: Served, variables: dict[str, Any]) -> list[int]:
    positions: list[int] = []
    after = 0
    while True:
        page = (await world.data(LOG, {**variables, "after": after}, token=AUDITOR))["eventLog"]
        positions += [e["position"] for e in page["events"]]
        if not page["hasNextPage"]:
            return positions
        after = page["endPosition"]


async def test_event_log_filters_by_account_and_time(world: Served) -> None:
    assert world.world is not None
    events = await rows(world)
    account = world.world.accounts[1]
    streams = {str(account.id)} | {
        str(v.id) for v in world.world.videos if v.account_id == account.id
    }
    mine = [e["position"] for e in events if e["stream_id"] in streams]
    assert mine and len(mine) < len(events)
    assert await all_pages(world, {"filters": str(account.id)}) == mine
    assert await all_pages(world, {"filters": "00000000-0000-4000-8000-000000000000"}) == []
    occurred = sorted(e["occurred_at"] for e in events if e["occurred_at"] is not None)
    low, high = occurred[len(occurred) // 4], occurred[len(occurred) // 2]
    expected = [
        e["position"] for e in events if e["occurred_at"] and low <= e["occurred_at"] <= high
    ]
    found = await all_pages(world, {"of": low.isoformat(), "ot": high.isoformat()})
    assert found == expected
    recorded = sorted(e["recorded_at"] for e in events)
    cut = recorded[len(recorded) // 3]
    expected = [e["position"] for e in events if e["recorded_at"] >= cut]
    assert await all_pages(world, {"rf": cut.isoformat()}) == expected
