"""From a structurally valid event to a row of the log (docs/log-format.md).

Here the checks that need the log's facts are made (unknown account or video,
video deleted, occurredAt before the publication or too far in the future,
watch time beyond the loop limit, searchTerm without SEARCH, viaVideoId of
another account) and the event is normalised: canonical ids, UTC time,
``accountId`` added to video events, ``completed`` always set on views.
Each check raises :class:`~analytics_graph.ingest.rejections.Invalid`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, cast
from uuid import UUID

import orjson
from asyncpg.pgproto.pgproto import UUID as PgUUID

from analytics_graph.eventstore.records import NewEvent
from analytics_graph.ingest import wire
from analytics_graph.ingest.facts import FactsCache, VideoFacts
from analytics_graph.ingest.rejections import Invalid
from analytics_graph.ingest.vocabulary import LOOP_FACTOR, MAX_FUTURE_SKEW

MAX_CANONICAL_CACHE: Final = 1_000_000


def parse_uuid(text: str, field: str) -> UUID:
    """``text`` as a UUID (asyncpg's type: a ``uuid.UUID`` made in C); raises :class:`Invalid`.

    Takes 32 hex digits, with or without dashes, in either case.
    """
    try:
        return PgUUID(text)
    except ValueError:
        raise Invalid(field, f"must be a UUID (got {text!r})") from None


class CanonicalIds:
    """Canonical UUID text of account and video ids as sent, memoised."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def __call__(self, text: str, field: str) -> str:
        """Raises :class:`Invalid` naming ``field`` when ``text`` is not a UUID."""
        canonical = self._known.get(text)
        if canonical is None:
            canonical = str(parse_uuid(text, field))
            if len(self._known) >= MAX_CANONICAL_CACHE:
                self._known.clear()
            self._known[text] = canonical
        return canonical

    def all_valid(self, texts: Iterable[str]) -> set[str]:
        """The canonical forms of those ``texts`` that are UUIDs."""
        out = set()
        for text in texts:
            with contextlib.suppress(Invalid):
                out.add(self(text, ""))
        return out


def account_subjects(event: wire.EngagementEvent) -> tuple[str, ...]:
    """The ids (as sent) of the account, and the video it came through, of an account event."""
    if isinstance(event, wire.Follow) and event.via_video_id is not None:
        return (event.account_id, event.via_video_id)
    return (cast(wire.AccountEvent, event).account_id,)


class BatchContext:
    """The facts and the clock one batch is checked against."""

    def __init__(self, facts: FactsCache, canonical: CanonicalIds, now: datetime) -> None:
        self.facts = facts
        self.canonical = canonical
        self.latest = now + MAX_FUTURE_SKEW
        self._live: dict[str, VideoFacts] = {}  # by id as sent: one lookup per event

    def moment(self, event: wire.EngagementEvent) -> datetime:
        """``occurredAt`` in UTC; raises :class:`Invalid` when beyond the allowed skew."""
        moment = event.occurred_at
        if moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        if moment > self.latest:
            raise Invalid("occurredAt", f"{moment.isoformat()} lies more than 5 minutes ahead")
        return moment

    def live_video(self, text: str, field: str, moment: datetime) -> VideoFacts:
        """The video ``text`` names, published by ``moment`` and not deleted."""
        video = self._live.get(text)
        if video is None:
            video = self._live_video(text, field)
        if moment < video.published_at:
            raise Invalid(
                "occurredAt",
                f"{moment.isoformat()} is before video {video.id} was published"
                f" ({video.published_at.isoformat()})",
            )
        return video

    def _live_video(self, text: str, field: str) -> VideoFacts:
        video = self.facts.video(self.canonical(text, field))
        if video is None:
            raise Invalid(field, f"unknown video {text}")
        if video.deleted:
            raise Invalid(field, f"video {text} was deleted")
        self._live[text] = video
        return video

    def account(self, text: str) -> str:
        account = self.canonical(text, "accountId")
        if not self.facts.account_exists(account):
            raise Invalid("accountId", f"unknown account {text}")
        return account


def _attributes(given: wire.Attributes) -> dict[str, str]:
    out: dict[str, str] = {}
    if given.country is not None:
        out["country"] = given.country.upper()
    if given.gender is not None:
        out["gender"] = given.gender
    if given.age_range is not None:
        out["ageRange"] = given.age_range
    return out


def _row(stream_id: str, event_id: UUID, moment: datetime, data: Any) -> NewEvent:
    # Positional: a third cheaper than keywords for this frozen dataclass, per event.
    return NewEvent(stream_id, data["type"], None, event_id, moment, orjson.dumps(data).decode())


def _view(event: wire.View, event_id: UUID, ctx: BatchContext) -> NewEvent:
    moment = ctx.moment(event)
    video = ctx.live_video(event.video_id, "videoId", moment)
    watched = event.watched_seconds
    if watched > video.duration_seconds * LOOP_FACTOR:
        raise Invalid(
            "watchedSeconds",
            f"{watched} is more than {LOOP_FACTOR} times the video's length"
            f" ({video.duration_seconds} s)",
        )
    if event.search_term is not None and event.source != "SEARCH":
        reason = f"is only allowed with source SEARCH (source is {event.source})"
        raise Invalid("searchTerm", reason)
    completed = event.completed
    data = {
        "eventId": str(event_id),
        "type": "view",
        "occurredAt": moment,
        "videoId": video.id,
        "accountId": video.account_id,
        "viewerId": event.viewer_id,
        "watchedSeconds": watched,
        "completed": watched >= video.duration_seconds if completed is None else completed,
        "source": event.source,
    }
    if event.search_term is not None:
        data["searchTerm"] = event.search_term
    if event.viewer is not None:
        data["viewer"] = _attributes(event.viewer)
    return _row(video.id, event_id, moment, data)


def _user_on_video(kind: str) -> Callable[[Any, UUID, BatchContext], NewEvent]:
    def convert(event: wire.Like | wire.Share, event_id: UUID, ctx: BatchContext) -> NewEvent:
        moment = ctx.moment(event)
        video = ctx.live_video(event.video_id, "videoId", moment)
        data = {
            "eventId": str(event_id),
            "type": kind,
            "occurredAt": moment,
            "videoId": video.id,
            "accountId": video.account_id,
            "userId": event.user_id,
        }
        if isinstance(event, wire.Share) and event.channel is not None:
            data["channel"] = event.channel
        return _row(video.id, event_id, moment, data)

    return convert


def _profile_view(event: wire.ProfileView, event_id: UUID, ctx: BatchContext) -> NewEvent:
    moment = ctx.moment(event)
    account = ctx.account(event.account_id)
    data = {
        "eventId": str(event_id),
        "type": "profileView",
        "occurredAt": moment,
        "accountId": account,
        "viewerId": event.viewer_id,
    }
    return _row(account, event_id, moment, data)


def _follow(event: wire.Follow, event_id: UUID, ctx: BatchContext) -> NewEvent:
    moment = ctx.moment(event)
    account = ctx.account(event.account_id)
    data = {
        "eventId": str(event_id),
        "type": "follow",
        "occurredAt": moment,
        "accountId": account,
        "followerId": event.follower_id,
    }
    if event.via_video_id is not None:
        video = ctx.live_video(event.via_video_id, "viaVideoId", moment)
        if video.account_id != account:
            raise Invalid("viaVideoId", f"video {video.id} is not a video of account {account}")
        data["viaVideoId"] = video.id
    if event.follower is not None:
        data["follower"] = _attributes(event.follower)
    return _row(account, event_id, moment, data)


def _unfollow(event: wire.Unfollow, event_id: UUID, ctx: BatchContext) -> NewEvent:
    moment = ctx.moment(event)
    account = ctx.account(event.account_id)
    data = {
        "eventId": str(event_id),
        "type": "unfollow",
        "occurredAt": moment,
        "accountId": account,
        "followerId": event.follower_id,
    }
    return _row(account, event_id, moment, data)


CONVERTERS: Final[dict[type[Any], Callable[[Any, UUID, BatchContext], NewEvent]]] = {
    wire.View: _view,
    wire.Like: _user_on_video("like"),
    wire.Unlike: _user_on_video("unlike"),
    wire.Favorite: _user_on_video("favorite"),
    wire.Comment: _user_on_video("comment"),
    wire.Share: _user_on_video("share"),
    wire.ProfileView: _profile_view,
    wire.Follow: _follow,
    wire.Unfollow: _unfollow,
}


def to_new_event(event: wire.EngagementEvent, ctx: BatchContext) -> NewEvent:
    """The log row of ``event``; raises :class:`Invalid` when the facts refuse it."""
    event_id = parse_uuid(event.event_id, "eventId")
    return CONVERTERS[type(event)](event, event_id, ctx)
