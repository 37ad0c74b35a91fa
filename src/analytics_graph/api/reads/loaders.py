"""DataLoaders: every read-model query a request makes, batched and cached per request.

Keys are an id, or ``(id, parameter)`` where the parameter is a range. A section
of the dashboard (followers, content) is one statement: its loader reads it whole.
Loads made in the same tick become one call of the read model's query over all
their ids (one per distinct parameter), so an answer costs a handful of
statements whatever the number of videos in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from functools import cached_property
from typing import TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader

from analytics_graph.api.reads.days import Days
from analytics_graph.api.reads.snapshots import Session
from analytics_graph.types import Connection
from projections.engagement import accounts as engagement
from projections.engagement import content, hourly, videos
from projections.entities import queries as entities
from projections.followers import queries as followers

P = TypeVar("P", bound=Hashable)
T = TypeVar("T")

ByIds = Callable[[Connection, Sequence[UUID]], Awaitable[Mapping[UUID, T]]]
ByIdsWith = Callable[[Connection, Sequence[UUID], P], Awaitable[Mapping[UUID, T]]]
PerKey = Callable[[Connection, UUID, P], Awaitable[T]]


def by_ids(session: Session, fn: ByIds[T]) -> DataLoader[UUID, T | None]:
    """``fn(conn, ids)`` batched; ``None`` for an id it does not return."""

    async def load(ids: list[UUID]) -> list[T | None]:
        found = await session.run(fn, ids)
        return [found.get(i) for i in ids]

    return DataLoader(load)


def by_ids_with(session: Session, fn: ByIdsWith[P, T]) -> DataLoader[tuple[UUID, P], T | None]:
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

    return DataLoader(load)


def per_key(session: Session, fn: PerKey[P, T]) -> DataLoader[tuple[UUID, P], T]:
    """``fn(conn, id, parameter)``, once per distinct key."""

    async def load(keys: list[tuple[UUID, P]]) -> list[T]:
        return [await session.run(fn, key_id, parameter) for key_id, parameter in keys]

    return DataLoader(load)


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
    first used (a request uses a few of them)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def account(self) -> DataLoader[UUID, entities.AccountEntity | None]:
        return by_ids(self._session, entities.accounts)

    @cached_property
    def video(self) -> DataLoader[UUID, entities.VideoEntity | None]:
        return by_ids(self._session, entities.videos)

    @cached_property
    def follower_count(self) -> DataLoader[UUID, int | None]:
        return by_ids(self._session, followers.follower_counts)

    @cached_property
    def overview(self) -> DataLoader[tuple[UUID, Days], engagement.AccountOverview | None]:
        return by_ids_with(self._session, _overviews)

    @cached_property
    def follower_growth(self) -> DataLoader[tuple[UUID, Days], followers.FollowerGrowth | None]:
        """The growth part of ``followers`` (for an answer that needs no more of it)."""
        return by_ids_with(self._session, _growths)

    @cached_property
    def followers(self) -> DataLoader[tuple[UUID, Days], followers.FollowerSection]:
        """Growth, demographics and activity."""
        return per_key(self._session, _followers)

    @cached_property
    def content(self) -> DataLoader[tuple[UUID, Days], content.ContentSection]:
        """Posted and trending videos, with their counts."""
        return per_key(self._session, _content)

    @cached_property
    def video_analytics(
        self,
    ) -> DataLoader[tuple[UUID, Days | None], videos.VideoAnalytics | None]:
        return by_ids_with(self._session, _video_analytics)

    @cached_property
    def video_hourly(self) -> DataLoader[UUID, list[videos.VideoHour] | None]:
        return by_ids(self._session, hourly.video_hourly)
