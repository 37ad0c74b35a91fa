"""Reading what an export holds, with the read-model queries the GraphQL API calls.

Everything an export shows is read from one state of the read models (a
read-only ``REPEATABLE READ`` transaction), on a streaming replica when one is
configured and meets the request's minimum position (:func:`read_state`, through
the same :class:`ReadPools` as GraphQL queries; else on the primary), and the
connection goes back to the pool before the file is written: a slow download
holds no connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from analytics_graph.api.types.ranges import Days
from analytics_graph.export.request import ExportRequest, Kind, Section
from analytics_graph.replication import ReadPools, Requirement, Source
from analytics_graph.types import Connection
from projections.engagement import accounts as engagement
from projections.engagement import content, hourly, videos
from projections.entities import queries as entities
from projections.followers import queries as followers

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class AccountNumbers:
    """An account's analytics over ``days``: the sections the export asked for (the
    others are ``None``). The Overview needs ``followers`` too (net followers and the
    follower total of each day)."""

    account: entities.AccountEntity
    days: Days
    overview: engagement.AccountOverview | None
    followers: followers.FollowerSection | None
    content: content.ContentSection | None


@dataclass(frozen=True, slots=True)
class VideoNumbers:
    """A video's analytics over its range (its whole life when none was asked), and
    its first 48 hours."""

    account: entities.AccountEntity
    video: entities.VideoEntity
    analytics: videos.VideoAnalytics
    hours: list[videos.VideoHour]


async def read_state(
    reads: ReadPools, requirement: Requirement, work: Callable[[Connection], Awaitable[R]]
) -> tuple[R, Source]:
    """``work``'s result, read from one snapshot of the read models on a server whose
    checkpoints meet ``requirement`` (a replica, else the primary), and that server."""

    async def snapshot(conn: Connection, source: Source) -> tuple[R, Source]:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await work(conn), source

    return await reads.run(requirement, snapshot)


async def owner(conn: Connection, request: ExportRequest) -> entities.AccountEntity | None:
    """The account whose numbers ``request`` exports (the video's, for a video), or
    ``None`` when there is no such account or video."""
    account_id = request.id
    if request.kind is Kind.VIDEO:
        found = (await entities.videos(conn, [request.id])).get(request.id)
        if found is None:
            return None
        account_id = found.account_id
    return (await entities.accounts(conn, [account_id])).get(account_id)


async def account_numbers(
    conn: Connection, account: entities.AccountEntity, days: Days, section: Section | None
) -> AccountNumbers:
    """The sections of ``account``'s analytics that ``section`` needs (all for ``None``)."""
    wanted = {section} if section else set(Section)
    start, end, key = days.start, days.end, account.id
    overview = follower_section = content_section = None
    if Section.OVERVIEW in wanted:
        overview = await engagement.overview(conn, key, start, end)
    if wanted & {Section.OVERVIEW, Section.FOLLOWERS}:
        follower_section = await followers.follower_section(conn, key, start, end)
    if Section.CONTENT in wanted:
        content_section = await content.content_section(conn, key, start, end)
    return AccountNumbers(account, days, overview, follower_section, content_section)


async def video_numbers(
    conn: Connection, account: entities.AccountEntity, video_id: UUID, days: Days | None
) -> VideoNumbers:
    """The video's analytics over ``days`` (its whole life for ``None``), as
    ``Video.analytics`` reads them."""
    video = (await entities.videos(conn, [video_id]))[video_id]
    span = (days.start, days.end) if days else (None, None)
    found = (await videos.video_analytics(conn, [video_id], *span)).get(video_id)
    hours = (await hourly.video_hourly(conn, [video_id])).get(video_id, [])
    if found is None:
        span = (days.start, days.end) if days else (None, None)
        found = videos.nothing_yet(video.published_at, video.duration_seconds, *span)
    return VideoNumbers(account, video, found, hours)
