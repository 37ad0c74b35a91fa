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
from typing import TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader

from analytics_graph.api.ranges import Days
from analytics_graph.api.session import Session
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


async def _overview(conn: Connection, account_id: UUID, days: Days) -> engagement.AccountOverview:
    return await engagement.overview(conn, account_id, days.start, days.end)


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
    """The loaders of one request (or of one subscription update)."""

    def __init__(self, session: Session) -> None:
        self.account = by_ids(session, entities.accounts)
        self.video = by_ids(session, entities.videos)
        self.follower_count = by_ids(session, followers.follower_counts)
        self.overview = per_key(session, _overview)
        self.followers = per_key(session, _followers)  # growth, demographics, activity
        self.content = per_key(session, _content)  # posted and trending, with counts
        self.video_analytics = by_ids_with(session, _video_analytics)
        self.video_hourly = by_ids(session, hourly.video_hourly)
