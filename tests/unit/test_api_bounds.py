"""What hostile requests can make the process keep, and how outages are told apart
from bugs: caches bounded by bytes and keyed by digests, cheap prechecks of the
variables, the database-outage classification (issue 16)."""

from __future__ import annotations

import socket
import threading
from typing import Any, cast

import asyncpg
import pytest
from eventsourcing.persistence import OperationalError
from graphql import GraphQLScalarType

from analytics_graph.api.engine.limits import Limits
from analytics_graph.api.engine.lru import SizedLRU
from analytics_graph.api.http.cache import AnswerCache, CachedAnswer, answer_key
from analytics_graph.api.http.protocol import RequestError, check_variables, variables_digest
from analytics_graph.api.reads.livelog import LogInterrupted, follow_log
from analytics_graph.api.schema import build_schema
from analytics_graph.api.services import Services
from analytics_graph.config import Mode
from analytics_graph.database import is_unavailable
from analytics_graph.errors import StoreError
from analytics_graph.eventstore import EventStore
from analytics_graph.replication import ReadPools


def test_the_lru_is_bounded_by_bytes_and_entries() -> None:
    cache: SizedLRU[str] = SizedLRU(max_entries=3, max_bytes=800)
    for n in range(3):
        assert cache.put(n, "x", 100)
    assert cache.put(3, "y", 90)
    assert (len(cache), cache.weight, cache.get(0)) == (3, 290, None)  # by entries
    assert not cache.put("heavy", "z", 101)  # over an eighth of the budget: not kept
    for n in range(10, 20):
        cache.put(n, "x", 100)
    assert cache.weight <= 800 and len(cache) <= 3


def test_failing_documents_keep_neither_their_text_nor_an_ast() -> None:
    documents = build_schema(limits=Limits()).documents
    for n in range(300):
        text = "{ __typename " + "#" * 50_000 + f"\n {n} "  # a syntax error at the end
        prepared = documents.prepare(text)
        assert prepared.document is None
        assert prepared.errors[0].extensions == {"code": "GRAPHQL_PARSE_FAILED"}
        assert prepared.errors[0].source is None and prepared.errors[0].nodes is None
        assert prepared.errors[0].formatted["locations"] == [{"line": 2, "column": 2}]
    assert len(documents.failed) <= documents.failed.max_entries
    assert documents.failed.weight <= 1024 * 1024
    assert documents.prepare(text) is documents.prepare(text)  # still cached, by digest


def test_a_text_over_the_limit_is_refused_without_parsing() -> None:
    documents = build_schema(limits=Limits(max_query_chars=1_000)).documents
    prepared = documents.prepare("{ __typename }" + " " * 2_000)
    assert prepared.errors[0].message == (
        "query: the document is 2014 characters long; at most 1000 are allowed"
    )
    assert len(documents.failed) == 0


def test_answer_keys_are_digests_of_fixed_size() -> None:
    huge = variables_digest({"unused": "x" * 1_000_000})
    assert len(huge) == 32
    key = answer_key(b"q", None, huge, "admin:-", "2025-01-01", "application/json")
    assert len(key) == 32
    assert key != answer_key(b"q", "", huge, "admin:-", "2025-01-01", "application/json")
    cache = AnswerCache(max_entries=10, max_bytes=10_000)
    cache.put(key, CachedAnswer("tag", 200, b"{}"))
    assert cache.get(key, "tag") is not None and cache.get(key, "other") is None


def test_variables_are_checked_by_their_containers_only() -> None:
    check_variables({"events": [{"a": {"b": 1}}] * 100, "n": 5}, max_list=100)
    with pytest.raises(RequestError, match=r"`variables.x.events` holds 101 items"):
        check_variables({"x": {"events": [1] * 101}}, max_list=100)
    with pytest.raises(RequestError, match="more than 100000 objects and lists"):
        check_variables({"rows": [[[]] * 100] * 1001}, max_list=2_000)
    deep: object = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(RequestError, match="`variables` nests deeper than 254 levels"):
        variables_digest({"deep": deep})


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (asyncpg.CannotConnectNowError("starting up"), True),
        (asyncpg.AdminShutdownError("terminating"), True),
        (asyncpg.ConnectionDoesNotExistError("closed"), True),
        (OperationalError("server closed the connection"), True),
        (asyncpg.UniqueViolationError("duplicate"), False),
        (ValueError("a bug"), False),
    ],
)
def test_outages_are_told_apart_from_bugs(error: Exception, unavailable: bool) -> None:
    assert is_unavailable(error) is unavailable
    translated = StoreError("event store failure")
    translated.__cause__ = error
    assert is_unavailable(translated) is unavailable


async def test_offloaded_execution_coerces_the_variables_in_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Variable coercion (the CPU-heavy part of a large batch) runs off the event loop's
    thread when asked to, with the same result."""
    schema = build_schema()
    position = schema.engine.graphql_schema.type_map["Position"]
    assert isinstance(position, GraphQLScalarType)
    threads: list[int] = []
    parse = position.coerce_input_value

    def recording(value: object) -> object:
        threads.append(threading.get_ident())
        return parse(value)

    monkeypatch.setattr(position, "coerce_input_value", recording)
    prepared = schema.documents.prepare(
        "query Q($a: Position) { __typename eventLog(after: $a) @skip(if: true) { hasNextPage } }"
    )
    assert prepared.document is not None
    answers = [
        await schema.engine.execute(prepared.document, None, variables={"a": 5}, offload=offload)
        for offload in (False, True)
    ]
    assert [a.data for a in answers] == [{"__typename": "Query"}] * 2
    assert threads[0] == threading.get_ident() != threads[1]
    refused = await schema.engine.execute(
        prepared.document, None, variables={"a": "x"}, offload=True
    )
    assert refused.data is None and refused.errors and "$a" in refused.errors[0].message


async def test_the_log_follower_ends_with_a_retryable_error_after_a_long_outage() -> None:
    """A database that stays unreachable longer than ``resume_within`` ends the
    follower with ``SERVICE_UNAVAILABLE``, naming the position to resume after."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    pool = await asyncpg.create_pool(f"postgresql://x@127.0.0.1:{port}/x", min_size=0)
    unused = cast(Any, None)
    services = Services(
        Mode.DEVELOPMENT,
        Limits(),
        pool,
        EventStore(pool),
        unused,
        unused,
        unused,
        None,
        (),
        ReadPools(pool),
    )
    try:
        with pytest.raises(LogInterrupted) as interrupted:
            async for _ in follow_log(services, 41, None, resume_within=0.3):
                pass
    finally:
        await pool.close()
    assert interrupted.value.extensions == {
        "code": "SERVICE_UNAVAILABLE",
        "retryable": True,
        "after": 41,
    }
    assert "subscribe again with after: 41" in interrupted.value.message
