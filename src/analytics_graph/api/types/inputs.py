"""Mutation inputs. Engagement events mirror the NDJSON ingest format, without ``type``
(the member of :class:`EngagementEventInput` says it); :func:`as_ingest_event` turns
one back into that format, so GraphQL and bulk ingest share one validation."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry

from analytics_graph.api.types.enums import AgeRange, Gender, TrafficSource


@strawberry.input
class RegisterAccountInput:
    handle: str = strawberry.field(description="1-30 letters, digits, '.' or '_'; unique.")
    display_name: str


@strawberry.input(
    description="publishedAt defaults to now; a past value is accepted (imports, backfills)."
)
class PublishVideoInput:
    account_id: strawberry.ID
    caption: str
    duration_seconds: float
    published_at: datetime | None = strawberry.UNSET


@strawberry.input(description="Viewer or follower attributes; missing ones count as UNKNOWN.")
class AudienceInput:
    country: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 3166-1 alpha-2."
    )
    gender: Gender | None = strawberry.UNSET
    age_range: AgeRange | None = strawberry.UNSET


@strawberry.input
class ViewInput:
    event_id: UUID
    occurred_at: datetime
    video_id: strawberry.ID
    viewer_id: strawberry.ID
    watched_seconds: float = strawberry.field(
        description="At least 0, at most 10 times the video's length (loops)."
    )
    completed: bool | None = strawberry.field(
        default=strawberry.UNSET, description="When absent: watchedSeconds >= the video's length."
    )
    source: TrafficSource
    search_term: str | None = strawberry.field(
        default=strawberry.UNSET, description="With source SEARCH."
    )
    viewer: AudienceInput | None = strawberry.UNSET


@strawberry.input
class LikeInput:
    event_id: UUID
    occurred_at: datetime
    video_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class UnlikeInput:
    event_id: UUID
    occurred_at: datetime
    video_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class FavoriteInput:
    event_id: UUID
    occurred_at: datetime
    video_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class CommentInput:
    event_id: UUID
    occurred_at: datetime
    video_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class ShareInput:
    event_id: UUID
    occurred_at: datetime
    video_id: strawberry.ID
    user_id: strawberry.ID
    channel: str | None = strawberry.UNSET


@strawberry.input
class ProfileViewInput:
    event_id: UUID
    occurred_at: datetime
    account_id: strawberry.ID
    viewer_id: strawberry.ID


@strawberry.input
class FollowInput:
    event_id: UUID
    occurred_at: datetime
    account_id: strawberry.ID
    follower_id: strawberry.ID
    via_video_id: strawberry.ID | None = strawberry.UNSET
    follower: AudienceInput | None = strawberry.UNSET


@strawberry.input
class UnfollowInput:
    event_id: UUID
    occurred_at: datetime
    account_id: strawberry.ID
    follower_id: strawberry.ID


@strawberry.input(
    one_of=True,
    description="Exactly one member; field names as in the NDJSON ingest format, without `type`.",
)
class EngagementEventInput:
    view: ViewInput | None = strawberry.UNSET
    like: LikeInput | None = strawberry.UNSET
    unlike: UnlikeInput | None = strawberry.UNSET
    comment: CommentInput | None = strawberry.UNSET
    share: ShareInput | None = strawberry.UNSET
    favorite: FavoriteInput | None = strawberry.UNSET
    profile_view: ProfileViewInput | None = strawberry.UNSET
    follow: FollowInput | None = strawberry.UNSET
    unfollow: UnfollowInput | None = strawberry.UNSET


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def plain(value: object) -> Any:
    """``value`` as JSON data: ids and enums as text, times in ISO 8601, dataclasses
    (inputs) as objects with camelCase names."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()  # a naive time stays without offset: ingest names it
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _members(value)
    return value


def _members(obj: object) -> dict[str, Any]:
    return {
        _camel(f.name): plain(value)
        for f in dataclasses.fields(obj)  # type: ignore[arg-type]
        if (value := getattr(obj, f.name)) is not None and value is not strawberry.UNSET
    }


def as_ingest_event(event: EngagementEventInput) -> dict[str, Any]:
    """The event in the NDJSON ingest format (``type`` from the member that is set)."""
    for kind, member in _members(event).items():
        return {"type": kind, **member}
    return {}  # the oneOf rule lets no such input through
