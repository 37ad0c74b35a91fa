"""From a structurally valid event to a row of the log (docs/log-format.md).

Here the checks that need the log's facts are made (unknown account or video,
video deleted, occurredAt before the publication or too far in the future,
watch time beyond the loop limit, searchTerm without SEARCH, viaVideoId of
another account) and the event is normalised: canonical ids, UTC time,
``accountId`` added to video events, ``completed`` always set on views.
Each check raises :class:`~analytics_graph.ingest.rejections.Invalid`.

The row is made directly from the decoded event, in the form COPY takes
(``formats.COPY_COLUMNS``): format 2's columns, or format 1's JSON for the few
payloads the columns cannot give back (``-0.0`` seconds, an empty ``viewer`` or
``follower``), exactly as ``formats.compact`` decides for the payload the ingest
made before (``tests/unit/test_ingest_rows.py`` holds them together).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, cast
from uuid import UUID

import orjson
from asyncpg.pgproto.pgproto import UUID as PgUUID

from analytics_graph.eventstore.formats import (
    AGE_RANGE_CODES,
    COMPACT,
    EVENT_ID,
    FLOAT_DECIMALS,
    GENDER_CODES,
    NO_FORMAT_COLUMNS,
    SOURCE_CODES,
    FactRow,
    expand,
    float_decimal,
)
from analytics_graph.ingest import wire
from analytics_graph.ingest.facts import FactsCache, VideoFacts
from analytics_graph.ingest.rejections import Invalid, Rejection
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
    """Canonical UUID text of account and video ids as sent, and the UUIDs of canonical
    texts, memoised."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}
        self.uuids: dict[str, UUID] = {}
        """The UUIDs :meth:`uuid` made, by canonical text (read-only)."""

    def uuid(self, canonical: str) -> UUID:
        """The UUID of a canonical id (the facts' own ids)."""
        found = self.uuids.get(canonical)
        if found is None:
            found = PgUUID(canonical)
            if len(self.uuids) >= MAX_CANONICAL_CACHE:
                self.uuids.clear()
            self.uuids[canonical] = found
        return found

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


# A live video as the one-step path of ``to_rows`` reads it: its id, its owner's UUID,
# its publication, its length and the longest watch time allowed.
KnownVideo = tuple[str, UUID, datetime, float, float]


class BatchContext:
    """The facts and the clock one batch is checked against."""

    def __init__(self, facts: FactsCache, canonical: CanonicalIds, now: datetime) -> None:
        self.facts = facts
        self.canonical = canonical
        self.latest = now + MAX_FUTURE_SKEW
        self.live: dict[str, VideoFacts] = {}
        """The videos found live in this batch, by id as sent: one lookup per event."""
        self.known: dict[str, KnownVideo] = {}
        """What :func:`to_rows` needs of each video of ``live``, by id as sent."""
        self.accounts: dict[str, str] = {}
        """The accounts found in this batch: canonical id by id as sent."""

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
        video = self.live.get(text)
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
        self.live[text] = video
        owner = self.canonical.uuid(video.account_id)
        length = video.duration_seconds
        self.known[text] = (video.id, owner, video.published_at, length, length * LOOP_FACTOR)
        return video

    def known_video(self, text: str) -> KnownVideo | None:
        """What :func:`to_rows` needs of the live video ``text`` names; ``None`` when it
        names none (then :func:`to_row` says why, in its order of checks)."""
        found = self.known.get(text)
        if found is None:
            with contextlib.suppress(Invalid):
                self._live_video(text, "videoId")
                found = self.known[text]
        return found

    def known_account(self, text: str) -> str | None:
        """The canonical id of the account ``text`` names; ``None`` when it names none."""
        found = self.accounts.get(text)
        if found is None:
            with contextlib.suppress(Invalid):
                found = self.account(text)
        return found

    def account(self, text: str) -> str:
        account = self.canonical(text, "accountId")
        if not self.facts.account_exists(account):
            raise Invalid("accountId", f"unknown account {text}")
        self.accounts[text] = account
        return account


_NO_ATTRIBUTES: Final = (None, None, None)


def _attributes(given: wire.Attributes | None) -> tuple[str | None, int | None, int | None]:
    """``viewer`` / ``follower`` as the columns ``country``, ``gender``, ``age_range``."""
    if given is None:
        return _NO_ATTRIBUTES
    country = given.country
    return (
        None if country is None else country.upper(),
        GENDER_CODES.get(given.gender),  # type: ignore[arg-type]
        AGE_RANGE_CODES.get(given.age_range),  # type: ignore[arg-type]
    )


def _as_json(row: FactRow, **extra: Any) -> FactRow:
    """``row`` in format 1: its payload (with ``extra`` keys) as JSON text in ``data``."""
    text = orjson.dumps(expand(row) | extra).decode()
    return (row[0], None, row[2], row[EVENT_ID], row[4], text, None, *NO_FORMAT_COLUMNS)


def _view(event: wire.View, event_id: UUID, ctx: BatchContext) -> FactRow:
    moment = ctx.moment(event)
    video = ctx.live_video(event.video_id, "videoId", moment)
    watched = event.watched_seconds
    if watched > video.duration_seconds * LOOP_FACTOR:
        raise Invalid(
            "watchedSeconds",
            f"{watched} is more than {LOOP_FACTOR} times the video's length"
            f" ({video.duration_seconds} s)",
        )
    source, term = event.source, event.search_term
    if term is not None and source != "SEARCH":
        raise Invalid("searchTerm", f"is only allowed with source SEARCH (source is {source})")
    completed = event.completed
    if completed is None:
        completed = watched >= video.duration_seconds
    number = float_decimal(watched)
    viewer = _attributes(event.viewer)
    row = (
        video.id, None, "view", event_id, moment, None, None, COMPACT,
        ctx.canonical.uuid(video.account_id), event.viewer_id, number, completed,
        SOURCE_CODES[source], term, None, None, *viewer,
    )  # fmt: skip
    if number is not None and (event.viewer is None or viewer != _NO_ATTRIBUTES):
        return row
    extra: dict[str, Any] = {} if number is not None else {"watchedSeconds": watched}
    if event.viewer is not None and viewer == _NO_ATTRIBUTES:
        extra["viewer"] = {}  # given without attributes
    return _as_json(row, **extra)


def _user_on_video(kind: str) -> Callable[[Any, UUID, BatchContext], FactRow]:
    def convert(event: wire.Like | wire.Share, event_id: UUID, ctx: BatchContext) -> FactRow:
        moment = ctx.moment(event)
        video = ctx.live_video(event.video_id, "videoId", moment)
        channel = event.channel if isinstance(event, wire.Share) else None
        return (
            video.id, None, kind, event_id, moment, None, None, COMPACT,
            ctx.canonical.uuid(video.account_id), event.user_id, None, None, None, None,
            channel, None, None, None, None,
        )  # fmt: skip

    return convert


def _account_row(kind: str, account: str, event_id: UUID, moment: datetime, user: str) -> FactRow:
    return (
        account, None, kind, event_id, moment, None, None, COMPACT,
        None, user, None, None, None, None, None, None, None, None, None,
    )  # fmt: skip


def _profile_view(event: wire.ProfileView, event_id: UUID, ctx: BatchContext) -> FactRow:
    moment = ctx.moment(event)
    account = ctx.account(event.account_id)
    return _account_row("profileView", account, event_id, moment, event.viewer_id)


def _follow(event: wire.Follow, event_id: UUID, ctx: BatchContext) -> FactRow:
    moment = ctx.moment(event)
    account = ctx.account(event.account_id)
    via = None
    if event.via_video_id is not None:
        video = ctx.live_video(event.via_video_id, "viaVideoId", moment)
        if video.account_id != account:
            raise Invalid("viaVideoId", f"video {video.id} is not a video of account {account}")
        via = ctx.canonical.uuid(video.id)
    follower = _attributes(event.follower)
    row = (
        account, None, "follow", event_id, moment, None, None, COMPACT,
        None, event.follower_id, None, None, None, None, None, via, *follower,
    )  # fmt: skip
    if follower == _NO_ATTRIBUTES and event.follower is not None:
        return _as_json(row, follower={})
    return row


def _unfollow(event: wire.Unfollow, event_id: UUID, ctx: BatchContext) -> FactRow:
    moment = ctx.moment(event)
    account = ctx.account(event.account_id)
    return _account_row("unfollow", account, event_id, moment, event.follower_id)


CONVERTERS: Final[dict[type[Any], Callable[[Any, UUID, BatchContext], FactRow]]] = {
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


def to_row(event: wire.EngagementEvent, ctx: BatchContext) -> FactRow:
    """The log row of ``event`` (the values of ``COPY_COLUMNS``: format 2, or format 1
    when the columns cannot give its payload back); raises :class:`Invalid` when the
    facts refuse it."""
    event_id = parse_uuid(event.event_id, "eventId")
    return CONVERTERS[type(event)](event, event_id, ctx)


_ON_ACCOUNT: Final[dict[type[Any], str]] = {
    wire.ProfileView: "profileView", wire.Follow: "follow", wire.Unfollow: "unfollow",
}  # fmt: skip
_ON_VIDEO: Final[dict[type[Any], str]] = {
    wire.Like: "like", wire.Unlike: "unlike", wire.Favorite: "favorite",
    wire.Comment: "comment", wire.Share: "share",
}  # fmt: skip


def to_rows(
    events: list[wire.EngagementEvent],
    indices: list[int],
    ctx: BatchContext,
    rows: list[FactRow],
    rejections: list[Rejection],
) -> None:
    """:func:`to_row` of each event (numbered by ``indices``), appended to ``rows``, or
    its rejection to ``rejections``.

    An event takes one step here when none of its checks can refuse it and its row is
    format 2: a live video (or an account) it names (found once per batch), a moment
    within its bounds, an ``eventId`` that is a UUID; for a view, a watch time above 0
    and within the loop limit, a ``searchTerm`` only with SEARCH, no ``viewer`` or one
    with attributes; for a follow, no ``viaVideoId`` and no ``follower`` or one with
    attributes. That row is :func:`to_row`'s. Every other event goes through
    :func:`to_row`, which makes its row, or its rejection with its message, as always
    (``tests/unit/test_ingest_rows.py`` holds the two ways to each other)."""
    known, accounts, latest, decimals = ctx.known, ctx.accounts, ctx.latest, FLOAT_DECIMALS
    known_video, known_account = ctx.known_video, ctx.known_account
    view, share, on_video, on_account = wire.View, wire.Share, _ON_VIDEO, _ON_ACCOUNT
    follow, sources, genders, ages, utc = (
        wire.Follow,
        SOURCE_CODES,
        GENDER_CODES,
        AGE_RANGE_CODES,
        UTC,
    )
    append = rows.append
    plain: list[Any] = events  # each of the types checked before its fields are read
    for index, event in zip(indices, plain, strict=True):
        kind = type(event)
        if kind is view or kind in on_video:
            video = known.get(event.video_id) or known_video(event.video_id)
            if video is not None:
                video_id, owner, published, length, limit = video
                moment = event.occurred_at
                if moment.tzinfo is not utc:
                    moment = moment.astimezone(utc)
                if published <= moment <= latest:
                    try:
                        event_id = PgUUID(event.event_id)
                    except ValueError:
                        event_id = None  # refused by to_row, with its message
                    if event_id is not None and kind is view:
                        watched = event.watched_seconds
                        number = None
                        if watched:  # not 0.0 or -0.0 (to_row tells them apart)
                            number = decimals.get(watched) or float_decimal(watched)
                        term, source = event.search_term, event.source
                        if (
                            number is not None
                            and watched <= limit
                            and (term is None or source == "SEARCH")
                        ):
                            completed = event.completed
                            if completed is None:
                                completed = watched >= length
                            given = event.viewer
                            if given is None:
                                append((
                                    video_id, None, "view", event_id, moment, None, None,
                                    COMPACT, owner, event.viewer_id, number, completed,
                                    sources[source], term, None, None, None, None, None,
                                ))  # fmt: skip
                                continue
                            country = given.country
                            gender, age = genders.get(given.gender), ages.get(given.age_range)
                            if country is not None or gender is not None or age is not None:
                                append((
                                    video_id, None, "view", event_id, moment, None, None,
                                    COMPACT, owner, event.viewer_id, number, completed,
                                    sources[source], term, None, None,
                                    None if country is None else country.upper(), gender, age,
                                ))  # fmt: skip
                                continue
                    elif event_id is not None:
                        channel = event.channel if kind is share else None
                        append((
                            video_id, None, on_video[kind], event_id, moment, None, None,
                            COMPACT, owner, event.user_id, None, None, None, None, channel,
                            None, None, None, None,
                        ))  # fmt: skip
                        continue
        elif kind in on_account:
            account = accounts.get(event.account_id) or known_account(event.account_id)
            if account is not None:
                moment = event.occurred_at
                if moment.tzinfo is not utc:
                    moment = moment.astimezone(utc)
                if moment <= latest:
                    try:
                        event_id = PgUUID(event.event_id)
                    except ValueError:
                        event_id = None  # refused by to_row, with its message
                    if event_id is not None and kind is not follow:
                        user = event.viewer_id if kind is wire.ProfileView else event.follower_id
                        append(_account_row(on_account[kind], account, event_id, moment, user))
                        continue
                    if event_id is not None and event.via_video_id is None:
                        given = event.follower
                        follower = _NO_ATTRIBUTES if given is None else _attributes(given)
                        if given is None or follower != _NO_ATTRIBUTES:
                            append((
                                account, None, "follow", event_id, moment, None, None, COMPACT,
                                None, event.follower_id, None, None, None, None, None, None,
                                *follower,
                            ))  # fmt: skip
                            continue
        try:
            append(to_row(event, ctx))
        except Invalid as exc:
            rejections.append(exc.at(index))
