"""DataLoaders: every read-model query a request makes, batched and cached per request.

Keys are an id, or ``(id, parameter)`` where the parameter is a range. A section
of the dashboard (followers, content) is one statement: its loader reads it whole.
Loads made in the same tick become one call of the read model's query over all
their ids (one per distinct parameter), so an answer costs a handful of
statements whatever the number of videos in it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from functools import cached_property
from typing import Any, TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader, get_current_batch

from analytics_graph.api.reads.days import Days
from analytics_graph.api.reads.snapshots import Session
from analytics_graph.types import Connection
from projections.engagement import accounts as engagement
from projections.engagement import content, hourly, videos
from projections.entities import queries as entities
from projections.followers import queries as followers

P = TypeVar("P", bound=Hashable)
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

ByIds = Callable[[Connection, Sequence[UUID]], Awaitable[Mapping[UUID, T]]]
ByIdsWith = Callable[[Connection, Sequence[UUID], P], Awaitable[Mapping[UUID, T]]]
PerKey = Callable[[Connection, UUID, P], Awaitable[T]]


class Kept(asyncio.Future[Any]):
    """A load that many questions share (a round of shared subscriptions): one that
    is cancelled, because graphql-core cancels the fields beside one that failed,
    must not cancel it for the others. Cancelling a task that awaits it cancels the
    task once the load completes, and leaves the load to the others."""

    def cancel(self, msg: Any = None) -> bool:
        return False


class SharedLoader(DataLoader[K, V]):
    """A DataLoader (with its cache) whose loads are :class:`Kept`."""

    def load(self, key: K) -> Awaitable[V]:
        future = self.cache_map.get(key)
        if future is not None and not future.cancelled():
            return future
        future = Kept(loop=self.loop)
        self.cache_map.set(key, future)
        get_current_batch(self).add_task(key, future)
        return future


def _loader(load: Callable[[list[K]], Awaitable[list[V]]], shared: bool) -> DataLoader[K, V]:
    return SharedLoader(load) if shared else DataLoader(load)


def by_ids(session: Session, fn: ByIds[T], shared: bool = False) -> DataLoader[UUID, T | None]:
    """``fn(conn, ids)`` batched; ``None`` for an id it does not return."""

    async def load(ids: list[UUID]) -> list[T | None]:
        found = await session.run(fn, ids)
        return [found.get(i) for i in ids]

    return _loader(load, shared)


def by_ids_with(
    session: Session, fn: ByIdsWith[P, T], shared: bool = False
) -> DataLoader[tuple[UUID, P], T | None]:
    """``fn(conn, ids, parameter)`` batched by parameter, keyed by ``(id, parameter)``;
    ``None`` for an id it does not return."""

    async def load(keys: list[tuple[UUID, P]]) -> list[T | None]:
        groups: dict[P, list[UUID]] = defaultdict(list)
        for key_id, parameter in keys:
            groups[parameter].append(key_id)
        found: dict[tuple[UUID, P], T] = {}
        for parameter, ids in groups.items():
            for key_id, value in (await session.run(fn, ids, parameter)).items():
                found[(key_id, parameter)] = value
        return [found.get(k) for k in keys]

    return _loader(load, shared)


def per_key(
    session: Session, fn: PerKey[P, T], shared: bool = False
) -> DataLoader[tuple[UUID, P], T]:
    """``fn(conn, id, parameter)``, once per distinct key."""

    async def load(keys: list[tuple[UUID, P]]) -> list[T]:
        return [await session.run(fn, key_id, parameter) for key_id, parameter in keys]

    return _loader(load, shared)


# The read models' queries, adapted to (conn, ids-or-id, parameter).


async def _overviews(
    conn: Connection, ids: Sequence[UUID], days: Days
) -> dict[UUID, engagement.AccountOverview]:
    return await engagement.overviews(conn, ids, days.start, days.end)


async def _growths(
    conn: Connection, ids: Sequence[UUID], days: Days
) -> dict[UUID, followers.FollowerGrowth]:
    return await followers.follower_growths(conn, ids, days.start, days.end)


async def _followers(conn: Connection, account_id: UUID, days: Days) -> followers.FollowerSection:
    return await followers.follower_section(conn, account_id, days.start, days.end)


async def _content(conn: Connection, account_id: UUID, days: Days) -> content.ContentSection:
    return await content.content_section(conn, account_id, days.start, days.end)


async def _video_analytics(
    conn: Connection, ids: Sequence[UUID], days: Days | None
) -> dict[UUID, videos.VideoAnalytics]:
    if days is None:  # the whole life
        return await videos.video_analytics(conn, ids)
    return await videos.video_analytics(conn, ids, days.start, days.end)


class Loaders:
    """The loaders of one request (or of one subscription update), each made when
    first used (a request uses a few of them). ``shared``: many questions share them
    (a round of shared subscriptions), their loads are :class:`Kept`."""

    def __init__(self, session: Session, shared: bool = False) -> None:
        self._session = session
        self._shared = shared

    @cached_property
    def account(self) -> DataLoader[UUID, entities.AccountEntity | None]:
        return by_ids(self._session, entities.accounts, self._shared)

    @cached_property
    def video(self) -> DataLoader[UUID, entities.VideoEntity | None]:
        return by_ids(self._session, entities.videos, self._shared)

    @cached_property
    def follower_count(self) -> DataLoader[UUID, int | None]:
        return by_ids(self._session, followers.follower_counts, self._shared)

    @cached_property
    def overview(self) -> DataLoader[tuple[UUID, Days], engagement.AccountOverview | None]:
        return by_ids_with(self._session, _overviews, self._shared)

    @cached_property
    def follower_growth(self) -> DataLoader[tuple[UUID, Days], followers.FollowerGrowth | None]:
        """The growth part of ``followers`` (for an answer that needs no more of it)."""
        return by_ids_with(self._session, _growths, self._shared)

    @cached_property
    def followers(self) -> DataLoader[tuple[UUID, Days], followers.FollowerSection]:
        """Growth, demographics and activity."""
        return per_key(self._session, _followers, self._shared)

    @cached_property
    def content(self) -> DataLoader[tuple[UUID, Days], content.ContentSection]:
        """Posted and trending videos, with their counts."""
        return per_key(self._session, _content, self._shared)

    @cached_property
    def video_analytics(
        self,
    ) -> DataLoader[tuple[UUID, Days | None], videos.VideoAnalytics | None]:
        return by_ids_with(self._session, _video_analytics, self._shared)

    @cached_property
    def video_hourly(self) -> DataLoader[UUID, list[videos.VideoHour] | None]:
        return by_ids(self._session, hourly.video_hourly, self._shared)
