"""Shared subscriptions: one execution per distinct question, one payload for all who ask.

Subscribers to metric updates (``accountMetrics``, ``videoMetrics``) who send the
same document, variables and operation name, and whose tokens let them see the
same things (the caller's role and account), form a :class:`Group`. A group runs
the subscription once, with a context of its own, and serialises each update
once; every member gets that text inside its own ``next`` envelope. So the cost
of an update grows with the distinct questions, not with the subscribers.

Updates are states, not events: a group sends at most one update per
``interval`` (the newest state), and each member holds at most one unsent update
(a newer one replaces it: intermediate states are dropped, never the last). A
member whose send does not complete within ``send_timeout`` cannot keep up at
all: its connection is closed with 4429.

Other operations (queries, mutations, the log, alerts: events that must not be
dropped) run per subscriber, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from analytics_graph.api.context import Context
from analytics_graph.api.engine import AnalyticsSchema
from analytics_graph.api.reads.snapshots import PoolSession
from analytics_graph.api.services import Services
from analytics_graph.auth import Caller

SHARED_FIELDS = frozenset(("accountMetrics", "videoMetrics"))
SLOW_CLIENT = 4429


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


Send = Callable[[str], Awaitable[None]]
"""Sends one payload (serialised ``next`` payload text) to a member."""


class Member:
    """One subscriber of a group: the newest unsent payload, and what to do at the end."""

    __slots__ = ("_latest", "_ready", "ended", "outcome")

    def __init__(self) -> None:
        self._latest: str | None = None
        self._ready = asyncio.Event()
        self.ended = False
        self.outcome: PreExecutionError | ExecutionResult | None = None
        """Set when the group ended before its first update with this result."""

    def offer(self, payload: str) -> None:
        """Makes ``payload`` the next to send (replacing one not sent yet)."""
        self._latest = payload
        self._ready.set()

    def end(self, outcome: PreExecutionError | ExecutionResult | None = None) -> None:
        self.ended, self.outcome = True, outcome
        self._ready.set()

    async def pump(self, send: Send, send_timeout: float) -> None:
        """Sends payloads as they come, until the group ends (then returns); raises
        ``TimeoutError`` when a send takes longer than ``send_timeout``."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            payload, self._latest = self._latest, None
            if payload is not None:
                async with asyncio.timeout(send_timeout):
                    await send(payload)
            if self.ended and self._latest is None:
                return


class Group:
    """One shared execution and its members."""

    def __init__(self, hub: Hub, key: Key, caller: Caller) -> None:
        self.hub = hub
        self.key = key
        self.caller = caller
        self.members: set[Member] = set()
        self.task: asyncio.Task[None] | None = None
        self.executions = 0

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="shared-subscription")

    async def _run(self) -> None:
        outcome: PreExecutionError | ExecutionResult | None = None
        try:
            outcome = await self._stream()
        finally:
            self.hub.forget(self)
            for member in list(self.members):
                member.end(outcome)

    async def _stream(self) -> PreExecutionError | ExecutionResult | None:
        """Runs the subscription; returns the result that ended it before any update
        (an error to report), else ``None``."""
        services = self.hub.services
        context = Context(services, self.caller, PoolSession(services.pool))
        source = await self.hub.schema.stream(
            self.key.query,
            variable_values=orjson.loads(self.key.variables),
            context_value=context,
            operation_name=self.key.operation_name,
        )
        first = True
        async with aclosing(source):
            async for result in source:
                if not isinstance(result, ExecutionResult):
                    return None  # incremental delivery is not used by these fields
                if first and (isinstance(result, PreExecutionError) or result.data is None):
                    return result
                first = False
                self._publish(result)
                await asyncio.sleep(self.hub.interval)  # at most one update per interval
        return None

    def _publish(self, result: ExecutionResult) -> None:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        text = orjson.dumps(payload).decode()
        self.executions += 1
        self.hub.published += 1
        for member in self.members:
            member.offer(text)


class Hub:
    """The groups of one server process."""

    def __init__(
        self, schema: AnalyticsSchema, services: Services, interval: float, send_timeout: float
    ) -> None:
        self.schema = schema
        self.services = services
        self.interval = interval
        self.send_timeout = send_timeout
        self.groups: dict[Key, Group] = {}
        self.published = 0
        """Shared executions so far (for benchmarks and tests)."""

    def forget(self, group: Group) -> None:
        if self.groups.get(group.key) is group:
            del self.groups[group.key]

    @contextlib.contextmanager
    def joined(self, key: Key, caller: Caller) -> Any:
        """A new member of the group for ``key`` (started if needed) while the block runs;
        the last member to leave stops the group."""
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(self, key, caller)
            group.start()
        member = Member()
        group.members.add(member)
        try:
            yield member
        finally:
            group.members.discard(member)
            if not group.members and group.task is not None:
                self.forget(group)
                group.task.cancel()

    def stats(self) -> dict[str, int]:
        return {
            "groups": len(self.groups),
            "members": sum(len(g.members) for g in self.groups.values()),
            "published": self.published,
        }
