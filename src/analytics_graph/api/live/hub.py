"""Shared subscriptions: one execution per distinct question, one payload for all who ask.

Subscribers to metric updates (``accountMetrics``, ``videoMetrics``) who send the
same document, variables and operation name, and whose tokens let them see the
same things (the caller's role and account), form a :class:`Group` (a question).
A group opens the subscription once, through the engine, with a context of its
own: the field checks the request (an error ends the group, and its members get
it) and names in the context's :class:`~analytics_graph.api.live.watch.Watch` the
account or video it follows and how to read an update.

The :class:`Hub` follows the change notices once for all groups and answers them
in rounds: a round takes the groups whose account or video changed since the
last one (with the newest position), reads and executes all their updates
together through the engine's batched entry (``Engine.execute_events``), their
contexts sharing one session and one set of DataLoaders, so each loader reads
the round's ids in one statement (per parameter) whatever the number of
questions; then it serialises each group's update once, and every member gets
that text inside its own ``next`` envelope. So the cost of a round grows with
the distinct questions (and their reads with the fields, not the questions), and
the subscribers cost only a send each.

Updates are states, not events. Rounds never overlap. A round takes at most
``chunk`` (250) of the groups changed since their latest update, oldest change
first, among those whose latest update is at least ``interval`` old (so a group
sends at most one update per interval), each at the newest position that named
it; while more are due, the next round starts at once. On a busy server each
update then goes out after a short round, read just before, instead of at the end
of one round of all of them (``bench/live.py``, 10,000 subscribers, in turns: rounds
of 500 gave delay p99 1.3-2.0 s instead of 4.2-5.4 s in a quiet spell). The
projections of the same process run on a loop of their own
(``projection/threaded.py``): a round holding this loop no longer holds back the read
models, and so the updates; since then, shorter rounds are what shortens the delay
(rounds of 250 against 500, in turns: p99 0.74-0.86 s against 0.96-1.11 s). Each member holds at
most one unsent update (a newer one replaces it: intermediate states are dropped,
never the last). A member whose send does not complete within ``send_timeout``
cannot keep up at all: its connection is closed with 4429.

Other operations (queries, mutations, the log, alerts: events that must not be
dropped) run per subscriber, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, NamedTuple

import orjson
from graphql import ExecutionResult as CoreResult
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from analytics_graph.api.context import Context
from analytics_graph.api.engine import AnalyticsSchema, Compiled, Event
from analytics_graph.api.live.frames import Write
from analytics_graph.api.live.watch import Watch
from analytics_graph.api.reads.snapshots import PoolSession
from analytics_graph.api.services import Services
from analytics_graph.api.subscriptions import reached
from analytics_graph.auth import Caller
from analytics_graph.collector import collector_paused
from analytics_graph.projection import ChangeNotice
from analytics_graph.projection.notices import NoticeQueue

SHARED_FIELDS = frozenset(("accountMetrics", "videoMetrics"))
SLOW_CLIENT = 4429
ROUNDS_KEPT = 1_000
CHUNK = 250
"""Questions answered together at most (a round): a busy server answers its changed
questions in rounds of this many, oldest change first, so the first are sent while
the others wait their turn, instead of all at the end of one long round. Per
question a round of 100 costs the same CPU as one of 3,000 (``bench/live.py rounds
--chunk``); rounds of 150 sent updates sooner still (p50 0.28-0.31 s against
0.37-0.38 s) but fewer of them (4,500-4,800/s against 5,100/s), with two thirds more
statements."""
log = logging.getLogger(__name__)


@lru_cache(maxsize=1024)
def shareable(query: str, operation_name: str | None) -> bool:
    """Whether the document's operation is a subscription to shared fields only."""
    try:
        document = parse(query)
    except GraphQLError:
        return False  # the regular path reports it
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name is not None and o.name.value == operation_name)
    ]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.SUBSCRIPTION:
        return False
    selections = chosen[0].selection_set.selections
    return all(isinstance(s, FieldNode) and s.name.value in SHARED_FIELDS for s in selections)


@dataclass(frozen=True, slots=True)
class Key:
    """What makes two subscriptions the same question."""

    query: str
    variables: str
    operation_name: str | None
    caller: str


def key_of(
    query: str, variables: dict[str, Any] | None, operation_name: str | None, caller: Caller
) -> Key:
    canonical = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS).decode()
    return Key(query, canonical, operation_name, caller.key)


Send = Callable[[bytes], Coroutine[Any, Any, None]]
"""Sends one payload (the serialised ``next`` payload, UTF-8 JSON) to a member."""


class Member:
    """One subscriber of a group: sends its updates as they come, holding at most one
    unsent (the newest), and what to do at the end.

    A send is started at once, in the round that publishes the update (no task
    switch, no timer): ``write`` (a frame written straight to the connection) when
    it takes it, else ``send``'s coroutine, which on a socket that takes the frame,
    as it nearly always does, completes there. One that has to wait (the client
    does not read, and the socket's buffer is full) goes on in a task with
    ``send_timeout``; meanwhile newer updates replace each other, and the newest is
    sent when it completes.
    """

    __slots__ = (
        "_done", "_latest", "_send", "_send_timeout", "_sending", "_write", "ended", "outcome",
    )  # fmt: skip

    def __init__(self, send: Send, send_timeout: float, write: Write | None = None) -> None:
        self._send = send
        self._write = write
        self._send_timeout = send_timeout
        self._latest: bytes | None = None
        self._sending: asyncio.Task[None] | None = None
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.ended = False
        self.outcome: PreExecutionError | ExecutionResult | None = None
        """Set when the group ended before its first update with this result."""

    def offer(self, payload: bytes) -> bool:
        """Sends ``payload`` now, or after the send in flight (replacing one waiting);
        whether it was written at once, by ``write``."""
        if self._done.done():
            return False
        if self._sending is not None:
            self._latest = payload
            return False
        if self._write is not None:
            try:
                if self._write(payload):
                    return True
            except Exception as error:  # as a failing send: this member ends
                self._done.set_exception(error)
                return False
        coroutine = self._send(payload)
        try:
            awaited = coroutine.send(None)
        except StopIteration:
            return False  # sent
        except Exception as error:
            self._done.set_exception(error)
            return False
        self._sending = asyncio.create_task(self._go_on(coroutine, awaited))
        return False

    async def _go_on(self, coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
        try:
            async with asyncio.timeout(self._send_timeout):
                await _resumed(coroutine, awaited)
        except Exception as error:  # TimeoutError: the client cannot keep up
            if not self._done.done():
                self._done.set_exception(error)
            return
        finally:
            self._sending = None
        payload, self._latest = self._latest, None
        if payload is not None:
            self.offer(payload)
        if self.ended and self._sending is None:
            self._finish()

    def end(self, outcome: PreExecutionError | ExecutionResult | None = None) -> None:
        self.ended, self.outcome = True, outcome
        if self._sending is None:
            self._finish()

    def _finish(self) -> None:
        if not self._done.done():
            self._done.set_result(None)

    def leave(self) -> None:
        """Stops a send in flight (the subscriber is gone)."""
        if self._sending is not None:
            self._sending.cancel()
        self._done.cancel()  # no-op once done; else nobody waits for it any more

    async def finished(self) -> None:
        """Returns when the group has ended and the last update was sent; raises what a
        send raised (``TimeoutError`` when one took longer than ``send_timeout``)."""
        await self._done


async def _resumed(coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
    """Runs ``coroutine``, which has started and awaits ``awaited`` (a future, or
    ``None`` for a bare yield), to its end: what a task does with a coroutine."""
    try:
        while True:
            if awaited is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait([awaited])
            try:
                awaited = coroutine.send(None)
            except StopIteration:
                return
    finally:
        coroutine.close()  # when cancelled (by the timeout) while it waits


class Round(NamedTuple):
    questions: int
    statements: int
    """The SQL statements its reads sent."""
    seconds: float
    """From its start until every update was published (and most of them sent)."""
    cpu: float
    """The process's CPU seconds meanwhile (this round's, and whatever else ran)."""
    publishing_cpu: float
    """Of which serialising and sending the updates (nothing else runs meanwhile)."""


class Group:
    """One distinct question and its members."""

    def __init__(self, hub: Hub, key: Key, caller: Caller) -> None:
        self.hub = hub
        self.key = key
        self.members: set[Member] = set()
        self.watch = Watch()
        services = hub.services
        self.context = Context(services, caller, PoolSession(services.pool), live=self.watch)
        self.variables: dict[str, Any] = orjson.loads(key.variables)
        self.document: Any = None
        self.compiled: Compiled | None = None
        self.opening: asyncio.Task[None] | None = None
        self.executions = 0
        self.answered = -math.inf
        """The loop's time when its latest update was answered (one per interval)."""

    def start(self) -> None:
        self.opening = asyncio.create_task(self._open(), name="shared-subscription")

    async def _open(self) -> None:
        """Runs the subscription's field through the engine: it fails (its members get
        the error) or names what it follows (the hub follows it from then on)."""
        outcome: PreExecutionError | ExecutionResult | None = None
        try:
            outcome = await self._first_result()
        finally:
            if outcome is None and self.watch.update is not None:
                engine = self.hub.schema.engine
                self.document = engine.documents.prepare(self.key.query).document
                self.compiled = engine.compile(
                    self.document, self.variables, self.key.operation_name
                )
                self.hub.follow(self)
            else:
                self.end(outcome)

    async def _first_result(self) -> PreExecutionError | ExecutionResult | None:
        source = await self.hub.schema.stream(
            self.key.query,
            variable_values=self.variables,
            context_value=self.context,
            operation_name=self.key.operation_name,
        )
        async with aclosing(source):
            async for result in source:
                return result  # an error: a field the hub runs yields nothing itself
        return None

    def end(self, outcome: PreExecutionError | ExecutionResult | None = None) -> None:
        self.hub.forget(self)
        for member in list(self.members):
            member.end(outcome)

    def event(self, position: int) -> Event:
        """The update at ``position`` to read and execute in a round."""
        assert self.watch.update is not None
        return Event(
            self.document,
            self.context,
            self.variables,
            self.key.operation_name,
            partial(self.watch.update, position),
            self.compiled,
        )

    def publish(self, result: CoreResult) -> None:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        text = orjson.dumps(payload)
        self.executions += 1
        hub = self.hub
        hub.published += 1
        written = 0
        for member in self.members:
            written += member.offer(text)
        hub.written += written


class Hub:
    """The groups of one server process, and the rounds that answer them."""

    def __init__(
        self,
        schema: AnalyticsSchema,
        services: Services,
        interval: float,
        send_timeout: float,
        chunk: int = CHUNK,
    ) -> None:
        self.schema = schema
        self.services = services
        self.interval = interval
        self.send_timeout = send_timeout
        self.chunk = chunk
        self.groups: dict[Key, Group] = {}
        self.following: dict[str, set[Group]] = {}
        """The open groups by the account or video (UUID text) they follow."""
        self.published = 0
        """Group updates sent so far (for benchmarks and tests)."""
        self.written = 0
        """Member updates written straight to their connection (``frames.py``) so far."""
        self.rounds: deque[Round] = deque(maxlen=ROUNDS_KEPT)
        """The latest rounds (for tests and benchmarks)."""
        self._changed: dict[Group, int] = {}
        self._requirement: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def follow(self, group: Group) -> None:
        """Answers ``group`` in the rounds from now on."""
        for followed in (group.watch.account, group.watch.video):
            if followed is not None:
                self.following.setdefault(followed, set()).add(group)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="shared-subscription-rounds")

    def forget(self, group: Group) -> None:
        if self.groups.get(group.key) is group:
            del self.groups[group.key]
        for followed in (group.watch.account, group.watch.video):
            following = self.following.get(followed or "")
            if following is not None:
                following.discard(group)
                if not following:
                    del self.following[followed or ""]
        self._changed.pop(group, None)
        if not self.groups and self._task is not None:
            self._task.cancel()
            self._task = None

    @contextlib.contextmanager
    def joined(self, key: Key, caller: Caller, send: Send, write: Write | None = None) -> Any:
        """A new member of the group for ``key`` (started if needed), sending its updates
        with ``write`` when it can, else ``send``, while the block runs; the last member
        to leave stops the group."""
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(self, key, caller)
            group.start()
        member = Member(send, self.send_timeout, write)
        group.members.add(member)
        try:
            yield member
        finally:
            member.leave()
            group.members.discard(member)
            if not group.members:
                self.forget(group)
                if group.opening is not None:
                    group.opening.cancel()

    async def _run(self) -> None:
        """Follows the change notices and runs rounds after changes: each of at most
        ``chunk`` changed questions whose latest update is at least an interval old,
        oldest change first (the next round at once while some are due)."""
        feed = self.services.feed
        assert feed is not None  # the fields refuse to open without one
        loop = asyncio.get_running_loop()
        with feed.subscribe() as notices:
            listening = asyncio.create_task(self._listen(notices), name="live-notices")
            try:
                while True:
                    await self._wake.wait()
                    now = loop.time()
                    if self._changed:
                        soonest = min(g.answered for g in self._changed) + self.interval
                        if soonest > now:
                            await asyncio.sleep(soonest - now)
                            continue
                    try:
                        await self._round(self.chunk, now)
                    except Exception:  # a bug: the next round tries again
                        log.exception("a round of shared subscriptions failed")
            finally:
                listening.cancel()

    async def _listen(self, notices: NoticeQueue) -> None:
        async for notice in notices:
            self._note(notice)

    def _note(self, notice: ChangeNotice) -> None:
        """Marks the groups whose account or video the notice names (all when it names
        everything) as changed at its position."""
        if notice.everything:
            touched: list[set[Group]] = list(self.following.values())
        else:
            found = (self.following.get(i) for i in (*notice.accounts, *notice.videos))
            touched = [groups for groups in found if groups]
        changed = self._changed
        for groups in touched:
            for group in groups:
                if changed.get(group, 0) < notice.position:
                    changed[group] = notice.position
        for projection, position in reached([notice]).items():
            self._requirement[projection] = max(self._requirement.get(projection, 0), position)
        if touched:
            self._wake.set()

    async def _round(self, limit: int | None = None, now: float = math.inf) -> None:
        """Reads, executes and publishes the updates of the groups changed since their
        last update, all together (see the module docstring): all of them, or at most
        ``limit`` whose last update was published an interval before ``now`` or
        earlier, oldest change first."""
        started, cpu = time.perf_counter(), time.process_time()
        if limit is None:
            changed, self._changed = self._changed, {}
        else:
            changed, due = {}, now - self.interval
            for group, position in self._changed.items():
                if group.answered <= due:
                    changed[group] = position
                    if len(changed) >= limit:
                        break
            for group in changed:
                del self._changed[group]
        if not self._changed:
            self._wake.clear()
        # The projections' positions notified so far: what a replica must show (the
        # newest, whichever groups this round takes; an older one is shown already).
        requirement = dict(self._requirement)
        shared = Context(self.services, None, PoolSession(self.services.pool), many=True)
        shared.renew(requirement)  # one session and one set of loaders for the round
        groups = [g for g in changed if g.watch.update is not None]
        if not groups:  # those that changed have ended meanwhile
            return
        with collector_paused():
            publishing = await self._answer(groups, changed, shared)
            # The loop holds the finished executions (the gather's tasks and results)
            # until this step of the task ends: let it end, so they go by reference
            # counting before collections resume; else the next young collection
            # traces them all (25 ms a round of 3,000 questions).
            await asyncio.sleep(0)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        statements = shared.session.statements
        self.rounds.append(Round(len(groups), statements, elapsed, cpu, publishing))

    async def _answer(
        self, groups: list[Group], changed: dict[Group, int], shared: Context
    ) -> float:
        """Executes and publishes the updates; returns the CPU seconds of publishing."""
        for group in groups:
            group.context.join(shared)
        events = [g.event(changed[g]) for g in groups]
        results = await self.schema.engine.execute_events(events)
        shared.leave()  # what the round read goes (before the collector resumes)
        publishing = time.process_time()
        loop = asyncio.get_running_loop()
        for group, result in zip(groups, results, strict=True):
            group.context.leave()
            group.answered = loop.time()
            if result is not None:
                group.publish(result)
        return time.process_time() - publishing

    def stats(self) -> dict[str, int]:
        return {
            "groups": len(self.groups),
            "following": len({g for gs in self.following.values() for g in gs}),
            "members": sum(len(g.members) for g in self.groups.values()),
            "published": self.published,
        }
