"""The ingest format as msgspec structs: structural validation in one C pass.

Decoding a line into :data:`EngagementEvent` checks the type tag, unknown and
missing fields, JSON types, UUID syntax of ``eventId``, RFC 3339 timestamps
with an offset, enum names, the country-code shape and simple ranges. What
needs the log (does the video exist, is it deleted, how long is it) is checked
afterwards, in :mod:`analytics_graph.ingest.normalise`.

Ids stay strings here. ``eventId`` becomes asyncpg's own UUID type later (parsed
in C, and the cheapest for asyncpg to send); ids of accounts and videos are
canonicalised through a cache. Both are cheaper than a ``uuid.UUID`` each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

import msgspec

from analytics_graph.domain.vocabulary import AgeRange, Gender, TrafficSource
from analytics_graph.ingest.vocabulary import MAX_TEXT_LENGTH

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_LENGTH)]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
CountryCode = Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{2}$")]
# An upper bound keeps infinities out; the real one (10x the length) needs the video.
Seconds = Annotated[float, msgspec.Meta(ge=0, le=1e9)]


class Attributes(msgspec.Struct, forbid_unknown_fields=True, rename="camel", gc=False):
    """``viewer`` / ``follower``: optional demographic attributes."""

    country: CountryCode | None = None
    gender: Gender | None = None
    age_range: AgeRange | None = None


class _Event(
    msgspec.Struct, forbid_unknown_fields=True, rename="camel", tag_field="type", gc=False
):
    event_id: str
    occurred_at: Timestamp


class View(_Event, tag="view"):
    video_id: str
    viewer_id: Text
    watched_seconds: Seconds
    source: TrafficSource
    completed: bool | None = None
    search_term: Text | None = None
    viewer: Attributes | None = None


class _UserOnVideo(_Event):
    video_id: str
    user_id: Text


class Like(_UserOnVideo, tag="like"):
    pass


class Unlike(_UserOnVideo, tag="unlike"):
    pass


class Favorite(_UserOnVideo, tag="favorite"):
    pass


class Comment(_UserOnVideo, tag="comment"):
    pass


class Share(_UserOnVideo, tag="share"):
    channel: Text | None = None


class ProfileView(_Event, tag="profileView"):
    account_id: str
    viewer_id: Text


class Follow(_Event, tag="follow"):
    account_id: str
    follower_id: Text
    via_video_id: str | None = None
    follower: Attributes | None = None


class Unfollow(_Event, tag="unfollow"):
    account_id: str
    follower_id: Text


EngagementEvent = (
    View | Like | Unlike | Favorite | Comment | Share | ProfileView | Follow | Unfollow
)
VideoEvent = View | Like | Unlike | Favorite | Comment | Share
AccountEvent = ProfileView | Follow | Unfollow

DECODER: Final = msgspec.json.Decoder(EngagementEvent)
#: Several events at once (a JSON array): see ``Validator._decode_whole``.
ARRAY_DECODER: Final = msgspec.json.Decoder(list[EngagementEvent])
