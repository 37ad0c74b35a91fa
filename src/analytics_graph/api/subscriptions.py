"""The root Subscription type: metric updates after projection batches, and the live log.

Metric updates follow the projections' change notices (``projection/notices.py``):
after a batch that touched the account or video, one update is sent (notices
that arrive together are coalesced). Its ``account`` / ``video`` is read
afresh for each update. When the hub runs the subscription (``api/live``: the
context has a ``Watch``), the field only checks the request and names what it
follows and how to read an update; the hub reads the updates of many questions
together, in rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar
from uuid import UUID

import strawberry

from analytics_graph.api import access
from analytics_graph.api.context import Info
from analytics_graph.api.engine.fields import subscription
from analytics_graph.api.errors import ClientError
from analytics_graph.api.queries import visible_account, visible_video
from analytics_graph.api.reads.livelog import follow_log
from analytics_graph.api.types.account import Account
from analytics_graph.api.types.alert_fields import alerts
from analytics_graph.api.types.log import LoggedEvent
from analytics_graph.api.types.scalars import Position
from analytics_graph.api.types.video import Video
from analytics_graph.projection import ChangeNotice
from analytics_graph.projection.notices import NoticeQueue

COALESCE_SECONDS = 0.02
T = TypeVar("T")


class UnknownId(ClientError):
    """A subscription to an id that does not exist or that the caller may not see."""

    code = "NOT_FOUND"

    def __init__(self, id: object) -> None:
        super().__init__(f"{id} was not found")


@strawberry.type(description="Names what changed; select the fresh numbers through `account`.")
class AccountMetricsUpdate:
    account_id: strawberry.ID
    position: Position = strawberry.field(description="The projection's position after the batch.")
    account: Account


@strawberry.type(description="Names what changed; select the fresh numbers through `video`.")
class VideoMetricsUpdate:
    video_id: strawberry.ID
    position: Position = strawberry.field(description="The projection's position after the batch.")
    video: Video


async def _next_batch(notices: NoticeQueue) -> list[ChangeNotice]:
    """The next notice and any others arriving within ``COALESCE_SECONDS`` of it (one
    window from the first: under a steady stream of notices, waiting for a quiet gap
    would hold updates back for as long as the stream lasts)."""
    batch = [await anext(notices)]
    with contextlib.suppress(TimeoutError):
        # asyncio.timeout keeps a cancellation that wait_for could lose
        async with asyncio.timeout(COALESCE_SECONDS):
            while True:
                batch.append(await anext(notices))
    return batch


def _touches(batch: list[ChangeNotice], account: UUID | None, video: UUID | None) -> int | None:
    """The highest position among notices naming the id (or changing everything)."""
    positions = [
        n.position
        for n in batch
        if n.everything
        or (account is not None and str(account) in n.accounts)
        or (video is not None and str(video) in n.videos)
    ]
    return max(positions) if positions else None


def reached(batch: list[ChangeNotice]) -> dict[str, int]:
    """Each notified projection's position: what a replica read of the update must show
    (notices come from the primary, at commit; a replica may not have replayed it)."""
    reached: dict[str, int] = {}
    for notice in batch:
        if not notice.everything:
            reached[notice.projection] = max(reached.get(notice.projection, 0), notice.position)
    return reached


async def changes(
    info: Info, *, account: UUID | None = None, video: UUID | None = None
) -> AsyncIterator[int]:
    """The positions after which the account's or video's numbers changed, as they come."""
    feed = info.context.services.feed
    assert feed is not None  # checked by updates()
    with feed.subscribe() as notices:
        while True:
            batch = await _next_batch(notices)
            position = _touches(batch, account, video)
            if position is not None:
                info.context.renew(reached(batch))
                yield position


async def updates(
    info: Info,
    update: Callable[[int], Awaitable[T | None]],
    *,
    account: UUID | None = None,
    video: UUID | None = None,
) -> AsyncIterator[T]:
    """``update(position)`` after each change of the account or video (when it gives
    one); under the hub, nothing here: the field's ``Watch`` is told what to follow."""
    if info.context.services.feed is None:
        raise ClientError("subscriptions to metrics are not available on this server")
    live = info.context.live
    if live is not None:
        live.follow(update, account=account, video=video)
        return
    async for position in changes(info, account=account, video=video):
        fresh = await update(position)
        if fresh is not None:
            yield fresh


@strawberry.type
class Subscription:
    @subscription
    async def account_metrics(
        self, info: Info, account_id: strawberry.ID
    ) -> AsyncGenerator[AccountMetricsUpdate, None]:
        """After each projection update touching the account."""
        caller = access.reader(info.context.caller)
        account = await visible_account(info, caller, account_id)
        if account is None:
            raise UnknownId(account_id)

        async def update(position: int) -> AccountMetricsUpdate | None:
            fresh = await visible_account(info, caller, account.uuid)
            if fresh is None:
                return None
            return AccountMetricsUpdate(
                account_id=fresh.id, position=Position(position), account=fresh
            )

        async for each in updates(info, update, account=account.uuid):
            yield each

    @subscription
    async def video_metrics(
        self, info: Info, video_id: strawberry.ID
    ) -> AsyncGenerator[VideoMetricsUpdate, None]:
        """After each projection update touching the video."""
        caller = access.reader(info.context.caller)
        video = await visible_video(info, caller, video_id)
        if video is None:
            raise UnknownId(video_id)

        async def update(position: int) -> VideoMetricsUpdate | None:
            fresh = await visible_video(info, caller, video.entity.id)
            if fresh is None:
                return None
            return VideoMetricsUpdate(video_id=fresh.id, position=Position(position), video=fresh)

        async for each in updates(info, update, video=video.entity.id):
            yield each

    @subscription
    async def event_log(
        self,
        info: Info,
        after: Position | None = strawberry.UNSET,
        types: list[str] | None = strawberry.UNSET,
    ) -> AsyncGenerator[LoggedEvent, None]:
        """The log from position `after` (catch-up), then each event as it is appended
        (auditors). Never skips an event that commits late behind a later position."""
        access.log_reader(info.context.caller)
        async for event in follow_log(info.context.services, after or 0, types or None):
            yield LoggedEvent.of(event)

    alerts = subscription(alerts)
