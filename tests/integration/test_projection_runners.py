"""Several runners on one database: one works on each projection, the others stand
by and take over; a batch is applied once even when two try; notices go out."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
import pytest

import projections
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener, Notifier
from analytics_graph.projection import ChangeNotice, Changes, ProjectionRunner
from analytics_graph.projection import ranges as ranges_module
from analytics_graph.projection.batches import apply_batch
from analytics_graph.projection.checkpoints import CheckpointMoved, Slot
from analytics_graph.projection.notices import NoticeQueue, change_feed, publish, split
from analytics_graph.projection.ranges import RangeReader
from analytics_graph.projection.tables import ensure_live
from analytics_graph.projection.worker import WorkerState
from tests.integration import projection_world as pw
from tests.integration.projection_checks import check_all


def leaders(*runners: ProjectionRunner) -> dict[str, int]:
    """How many runners follow each projection."""
    return {
        p.name: sum(r.workers[p.name].state is WorkerState.FOLLOWING for r in runners)
        for p in projections.ALL
    }


async def test_two_runners_at_once_count_everything_once_and_take_over(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    first, second = await pw.load(store, parts=2)
    await pw.ingest(store, first)
    one = ProjectionRunner(database_url, store, None, projections.ALL, pw.FAST)
    two = ProjectionRunner(database_url, store, None, projections.ALL, pw.FAST)
    await asyncio.gather(one.start(), two.start())
    try:
        await pw.wait_applied(pool, await store.last_position())
        assert set(leaders(one, two).values()) == {1}
        await one.stop()  # the other takes over whatever this one held
        await pw.ingest(store, second)
        await pw.wait_applied(pool, await pw.finish(store))
        assert set(leaders(two).values()) == {1}
    finally:
        await one.stop()
        await two.stop()
    await check_all(pool, pw.world(), pw.expected())


async def test_a_batch_raced_by_two_appliers_is_applied_once(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    """The checkpoint claim alone (no advisory lock) makes a second applier of the
    same range fail without effect."""
    head = await pw.load_all(store)
    conns = [await asyncpg.connect(database_url) for _ in range(2)]
    world = pw.world()
    viewed = {str(e["videoId"]) for e in world.events() if e["type"] == "view"}
    owners = {str(v.id): str(v.account_id) for v in world.videos}
    try:
        await ensure_live(conns[0], projections.ALL)
        for projection in projections.ALL:
            outcomes = await asyncio.gather(
                *(apply_batch(c, projection, Slot.LIVE, 0, head) for c in conns),
                return_exceptions=True,
            )
            assert sorted(type(o).__name__ for o in outcomes) == ["Changes", "CheckpointMoved"]
            # The whole log in one first batch (the audiences' fill): it names every
            # video viewed, and every account of one.
            changes = next(o for o in outcomes if isinstance(o, Changes))
            if projection.name == "video_reach":
                assert changes.videos == viewed
            if projection.name == "account_viewers":
                assert changes.accounts == {owners[v] for v in viewed}
            with pytest.raises(CheckpointMoved):
                await apply_batch(conns[0], projection, Slot.LIVE, 0, head)
    finally:
        for conn in conns:
            await conn.close()
    await check_all(pool, pw.world(), pw.expected())


async def test_change_notices_name_what_changed(database_url: str, pool: asyncpg.Pool) -> None:
    async with (
        Notifier(database_url) as notifier,
        Listener(database_url) as listener,
        change_feed(database_url) as feed,
    ):
        store = EventStore(pool, notifier)
        await pw.load(store)  # accounts and videos only
        video = pw.world().videos[0]
        view = {
            "eventId": str(uuid.uuid4()), "type": "view", "videoId": str(video.id),
            "occurredAt": video.published_at.isoformat(), "viewerId": "someone",
            "watchedSeconds": 1.5, "source": "SEARCH", "searchTerm": "cats",
        }  # fmt: skip
        async with ProjectionRunner(database_url, store, listener, projections.ALL, pw.FAST):
            with feed.subscribe() as notices:
                await pw.ingest(store, [view])
                seen = await asyncio.wait_for(_until_all_projections(notices), 30)
    assert str(video.id) in seen["engagement"].videos
    assert str(video.account_id) in seen["engagement"].accounts
    assert str(video.id) in seen["video_reach"].videos
    # Only the two that handle views: `entities` may still be publishing its notice of
    # the loaded accounts and videos (an earlier position) when the feed is subscribed.
    view_position = await store.last_position()
    assert seen["engagement"].position == seen["video_reach"].position == view_position


async def test_a_large_notice_arrives_whole_in_order_and_only_at_commit(
    database_url: str, pool: asyncpg.Pool
) -> None:
    """A notice naming 1,000 ids goes out as several parts in one statement: every
    part arrives, in order, once the transaction commits; a rolled-back one never."""
    accounts = {str(uuid.uuid4()) for _ in range(500)}
    videos = {str(uuid.uuid4()) for _ in range(500)}
    expected = list(split(ChangeNotice("p", 42, frozenset(accounts), frozenset(videos))))
    assert len(expected) > 3
    async with change_feed(database_url) as feed, pool.acquire() as conn:
        with feed.subscribe() as notices:
            with contextlib.suppress(asyncpg.DivisionByZeroError):
                async with conn.transaction():
                    await publish(conn, "aborted", 43, Changes(accounts, videos))
                    await conn.execute("SELECT 1 / 0")
            async with conn.transaction():
                await publish(conn, "p", 42, Changes(accounts, videos))
            received: list[ChangeNotice] = []
            async with asyncio.timeout(30):
                async for notice in notices:
                    if notice.projection in ("p", "aborted"):
                        received.append(notice)
                    if len(received) == len(expected):
                        break
    assert received == expected  # the aborted notice never came, the parts in order
    # and together they name exactly what was published, at its projection and position
    assert {(n.projection, n.position) for n in received} == {("p", 42)}
    assert frozenset().union(*(n.accounts for n in received)) == accounts
    assert frozenset().union(*(n.videos for n in received)) == videos


async def _until_all_projections(notices: NoticeQueue) -> dict[str, ChangeNotice]:
    seen: dict[str, ChangeNotice] = {}
    async for notice in notices:
        if notice.accounts or notice.videos:
            seen[notice.projection] = notice
        if {"engagement", "video_reach"} <= seen.keys():
            return seen
    raise AssertionError("the feed ended")


async def test_ranges_stop_at_an_append_in_flight_and_pass_a_rolled_back_one(
    database_url: str, store: EventStore
) -> None:
    ranges = RangeReader(store, 0)
    await store.append([pw.fact()])
    slow = await asyncpg.connect(database_url)
    try:
        in_flight = slow.transaction()
        await in_flight.start()
        await store.append([pw.fact()], conn=slow)  # position 2, not committed yet
        await store.append([pw.fact()])  # position 3
        assert await ranges.next(100) == (0, 1)
        assert await ranges.next(100) is None and ranges.blocked
        await in_flight.rollback()  # position 2 will never exist
        await store.append([pw.fact()])  # position 4
        # the hole is passed once proven final (up to 3 by the horizon read while
        # it was open, or up to 4 by a count): ranges that follow one another
        assert (await until_span(ranges, 100))[0] == 1
        if ranges.position < 4:
            assert await until_span(ranges, 100) == (3, 4)
        assert await ranges.next(100) is None and not ranges.blocked
    finally:
        await slow.close()


class _NoQueries:
    """Stands in for a pool that must not be used."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"a statement was sent ({name})")


async def test_readers_of_one_store_share_what_was_proven_final_and_no_more(
    database_url: str, store: EventStore
) -> None:
    ahead, behind = RangeReader(store, 0), RangeReader(store, 0)
    await store.append([pw.fact(), pw.fact()])  # positions 1, 2
    slow = await asyncpg.connect(database_url)
    try:
        in_flight = slow.transaction()
        await in_flight.start()
        await store.append([pw.fact()], conn=slow)  # position 3, not committed yet
        await store.append([pw.fact()])  # position 4
        assert await ahead.next(100) == (0, 2)
        assert await ahead.next(100) is None and ahead.blocked
        pool, store.pool = store.pool, _NoQueries()  # type: ignore[assignment]
        try:  # up to the proven mark without a statement, in strides of `limit`
            assert await behind.next(1) == (0, 1)
            assert await behind.next(100) == (1, 2)
        finally:
            store.pool = pool
        assert await behind.next(100) is None and behind.blocked  # not past the hole
        await in_flight.commit()
        span = None
        while span is None:
            span = await behind.next(100)
        assert span == (2, 4)
        store.pool = _NoQueries()  # type: ignore[assignment]
        try:
            assert await ahead.next(100) == (2, 4)
        finally:
            store.pool = pool
    finally:
        await slow.close()


class _RolledBack(Exception):
    pass


async def until_span(reader: RangeReader, limit: int) -> tuple[int, int]:
    async with asyncio.timeout(30):
        while (span := await reader.next(limit)) is None:
            assert reader.blocked
            await asyncio.sleep(0.01)
    return span


async def test_a_reader_far_behind_waits_for_the_proof_and_never_passes_an_append_in_flight(
    database_url: str, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Far behind the end, a reader proves the log final from the horizon instead of
    counting rows; an append in flight delays that proof, and after ``PATIENCE`` the
    count takes the run before it, never the position it holds."""
    monkeypatch.setattr(ranges_module, "COUNT_AT_MOST", 10)
    await store.append_bulk([pw.fact() for _ in range(30)])  # positions 1..30
    slow = await asyncpg.connect(database_url)
    try:
        in_flight = slow.transaction()
        await in_flight.start()
        await store.append([pw.fact()], conn=slow)  # position 31, not committed yet
        await store.append_bulk([pw.fact() for _ in range(30)])  # 32..61
        reader = RangeReader(store, 0)
        assert await reader.next(100) is None and reader.blocked  # waits for the proof
        assert await until_span(reader, 100) == (0, 30)  # counted, after PATIENCE
        assert await reader.next(100) is None and reader.blocked
        await in_flight.commit()
        assert await until_span(reader, 100) == (30, 61)
    finally:
        await slow.close()
    # A reader of another store (nothing proven yet) passes the whole log, a hole
    # of a rolled-back append included, without one count.
    monkeypatch.setattr(ranges_module, "PATIENCE", 3600.0)
    monkeypatch.setattr(ranges_module, "RUN_SQL", "SELECT 1 / 0")
    async with store.pool.acquire() as conn:
        with contextlib.suppress(_RolledBack):
            async with conn.transaction():
                await store.append([pw.fact() for _ in range(5)], conn=conn)  # 62..66
                raise _RolledBack
    await store.append([pw.fact()])  # 67
    fresh = RangeReader(EventStore(store.pool), 0)
    assert await until_span(fresh, 1_000) == (0, 67)


async def test_stop_lets_the_batch_in_flight_commit_and_starts_no_other(
    database_url: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    """A graceful stop (SIGTERM) ends at a batch boundary: the batch being applied
    commits with its checkpoint; none starts after it."""
    first, second = await pw.load(store, parts=2)
    runner = ProjectionRunner(database_url, store, None, projections.ALL, pw.FAST)
    await runner.start()
    blocker = await asyncpg.connect(database_url)
    try:
        await pw.ingest(store, first)
        await pw.wait_applied(pool, await store.last_position())
        sql = "SELECT position FROM projection_checkpoints WHERE name = $1 AND slot = 'live'"
        before = await pool.fetchval(sql, "engagement")
        held = blocker.transaction()
        await held.start()
        # The next batch waits to write its table. (EXCLUSIVE mode takes no transaction
        # id, so the log reader does not wait for this transaction, as it would for a
        # row lock or an ACCESS EXCLUSIVE lock, which is WAL-logged.)
        await blocker.execute("LOCK TABLE rm_engagement.video_days IN EXCLUSIVE MODE")
        await pw.ingest(store, second)
        worker = runner.workers["engagement"]
        for _ in range(6000):
            if not worker.between_batches.is_set():
                break
            await asyncio.sleep(0.01)
        assert not worker.between_batches.is_set()  # a batch is in flight
        stopping = asyncio.create_task(runner.stop(grace=60))
        await asyncio.sleep(0.3)
        assert not stopping.done()  # waiting for the batch, not cancelling it
        await held.rollback()
        await stopping
    finally:
        await blocker.close()
        await runner.stop()
    after = await pool.fetchval(sql, "engagement")
    assert after > before and after == worker.position  # committed, and nothing after it
