"""The root Query type."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from analytics_graph.api import access
from analytics_graph.api.context import Info
from analytics_graph.api.engine.fields import field
from analytics_graph.api.errors import BadUserInput, page_size
from analytics_graph.api.types import audit
from analytics_graph.api.types.account import Account
from analytics_graph.api.types.alert_fields import alert_rules
from analytics_graph.api.types.log import EventConnection, LoggedEvent
from analytics_graph.api.types.scalars import Position
from analytics_graph.api.types.video import Video
from analytics_graph.api.types.webhook_fields import webhook_deliveries, webhooks
from analytics_graph.auth import Caller
from analytics_graph.eventstore import LogWindow
from analytics_graph.replication.log import read_log


def as_uuid(id: object) -> UUID | None:
    """The UUID an id names, or ``None`` (no such id can exist)."""
    if isinstance(id, UUID):
        return id
    try:
        return UUID(str(id))
    except ValueError:
        return None


async def visible_account(info: Info, caller: Caller, id: object) -> Account | None:
    """The account if it exists and ``caller`` may see it; ``None`` either way otherwise."""
    account_id = as_uuid(id)
    if account_id is None or not access.sees_account(caller, account_id):
        return None
    entity = await info.context.loaders.account.load(account_id)
    return None if entity is None else Account.of(entity)


async def visible_video(info: Info, caller: Caller, id: object) -> Video | None:
    """The video if it exists and ``caller`` may see its account; ``None`` otherwise."""
    video_id = as_uuid(id)
    if video_id is None:
        return None
    entity = await info.context.loaders.video.load(video_id)
    if entity is None or not access.sees_account(caller, entity.account_id):
        return None
    return Video.of(entity)


@strawberry.type
class Query:
    @field
    async def me(self, info: Info) -> Account | None:
        """The token's account (null for tokens that name none)."""
        caller = access.reader(info.context.caller)
        if caller.account_id is None:
            return None
        return await visible_account(info, caller, caller.account_id)

    @field
    async def account(self, info: Info, id: strawberry.ID) -> Account | None:
        """An account; creators see only their own (any other id answers null, like an
        id that does not exist)."""
        return await visible_account(info, access.reader(info.context.caller), id)

    @field
    async def video(self, info: Info, id: strawberry.ID) -> Video | None:
        """A video (deleted ones too); creators see only their own account's."""
        return await visible_video(info, access.reader(info.context.caller), id)

    @field
    async def event_log(
        self,
        info: Info,
        after: Position | None = strawberry.UNSET,
        first: int | None = 100,
        stream_id: strawberry.ID | None = strawberry.UNSET,
        types: list[str] | None = strawberry.UNSET,
        occurred_from: datetime | None = strawberry.UNSET,
        occurred_to: datetime | None = strawberry.UNSET,
        recorded_from: datetime | None = strawberry.UNSET,
        recorded_to: datetime | None = strawberry.UNSET,
        account_id: strawberry.ID | None = strawberry.UNSET,
    ) -> EventConnection:
        """The log in order, for auditors: up to `first` (at most 1000) events after
        position `after`, optionally of one stream, of some types, occurred or recorded
        within inclusive time bounds, and of one account (`accountId`: the account's own
        events and those of every video it published, engagement included). Never skips
        an event that commits late behind a later position."""
        access.log_reader(info.context.caller)
        services = info.context.services
        start = after or 0
        if start < 0:
            raise BadUserInput("after", "a position is 0 or more")
        size = page_size(first, 100, services.limits.max_log_page)
        stream = None
        if stream_id:
            stream = str(as_uuid(stream_id) or stream_id)
        info.context.beyond_read_models = True
        window = log_window(occurred_from, occurred_to, recorded_from, recorded_to, account_id)
        if window == LogWindow():  # no time or account filter: a replica may serve it
            events = await read_log(
                services.reads, services.store, start, size + 1, types=types or None,
                stream_id=stream,
            )  # fmt: skip
        else:
            events = await services.store.read_log(
                start, size + 1, types=types or None, stream_id=stream, window=window
            )
        page = [LoggedEvent.of(e) for e in events[:size]]
        return EventConnection(
            events=page,
            end_position=page[-1].position if page else None,
            has_next_page=len(events) > size,
        )

    webhooks = field(webhooks)
    webhook_deliveries = field(webhook_deliveries)
    alert_rules = field(alert_rules)

    @field
    async def log_head(self, info: Info) -> audit.TreeHead:
        """The latest signed head of the sealed log (auditors and admins)."""
        return await audit.log_head(info)

    @field
    async def tree_head(self, info: Info, size: Position) -> audit.TreeHead | None:
        """The signed head of the tree of exactly `size` events, if one was signed
        (auditors and admins)."""
        return await audit.tree_head(info, size)

    @field
    async def inclusion_proof(
        self, info: Info, position: Position, tree_size: Position | None = strawberry.UNSET
    ) -> audit.InclusionProof:
        """That the event at `position` is in the tree of `treeSize` events (default:
        the latest head's), as an RFC 6962 audit path (auditors and admins)."""
        return await audit.inclusion_proof(info, position, tree_size if tree_size else None)

    @field
    async def consistency_proof(
        self, info: Info, from_size: Position, to_size: Position | None = strawberry.UNSET
    ) -> audit.ConsistencyProof:
        """That the tree of `fromSize` events is a prefix of the tree of `toSize` (default:
        the latest head's), as an RFC 6962 consistency proof (auditors and admins)."""
        return await audit.consistency_proof(
            info, from_size, None if to_size is None or to_size is strawberry.UNSET else to_size
        )


def log_window(
    occurred_from: datetime | None,
    occurred_to: datetime | None,
    recorded_from: datetime | None,
    recorded_to: datetime | None,
    account_id: object,
) -> LogWindow:
    """The time and account filters of ``eventLog``; an account id that cannot exist
    matches nothing (like one that does not)."""
    account = None
    if account_id:
        parsed = as_uuid(account_id)
        account = str(parsed) if parsed is not None else "00000000-0000-0000-0000-000000000000"
    return LogWindow(
        occurred_from or None,
        occurred_to or None,
        recorded_from or None,
        recorded_to or None,
        account,
    )
