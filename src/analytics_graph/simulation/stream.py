"""The engagement events of a world, generated in hourly windows, in arrival order.

Per window: the event count follows the daily and weekly rhythm; types, videos
(Zipf-like popularity times a boost in the first days after publication) and
accounts are drawn in bulk, times drawn inside each video's lifetime and sorted;
then each event is written out, follow state updated in arrival (= log) order.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Iterator
from datetime import timedelta, timezone
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Final

from analytics_graph.simulation.world import DAY, HOUR, SimVideo, from_ms, to_ms

if TYPE_CHECKING:
    from analytics_graph.simulation.world import World

TYPES: Final = ("view", "like", "unlike", "comment", "share", "favorite", "profileView",
                "follow", "unfollow")  # fmt: skip
TYPE_CUM: Final = tuple(accumulate((800, 70, 6, 15, 10, 14, 45, 30, 10)))
ACCOUNT_TYPES: Final = frozenset({"profileView", "follow", "unfollow"})
SOURCES: Final = ("FOR_YOU", "FOLLOWING", "PERSONAL_PROFILE", "SOUND", "SEARCH", "HASHTAG",
                  "OTHER")  # fmt: skip
SOURCE_CUM: Final = tuple(accumulate((55, 12, 8, 4, 12, 5, 4)))
CHANNELS: Final = ("copy_link", "messages", "whatsapp", "instagram", "email")
OFFSETS: Final = tuple(timezone(timedelta(minutes=m)) for m in (120, -300, 330, 540, -180))
_UUID_KEEP: Final = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_V4: Final = (0x4000 << 64) | (0x8000 << 48)
RECENT: Final = 1000  # events kept as candidates for re-delivery


def uuid4_text(bits: int) -> str:
    """``str(UUID(int=bits, version=4))``, without the UUID object."""
    h = f"{(bits & _UUID_KEEP) | _UUID_V4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def window_counts(total: int, start: int, windows: int) -> list[int]:
    """``total`` split over hourly windows by rhythm (evenings, weekends, growth), exactly."""
    weights = []
    for k in range(windows):
        moment = from_ms(start + k * HOUR)
        diurnal = 0.35 + 0.65 * (0.5 - 0.5 * math.cos(2 * math.pi * (moment.hour - 8) / 24))
        weekly = 1.15 if moment.weekday() >= 5 else 1.0
        weights.append(diurnal * weekly * (0.6 + 0.8 * k / windows))
    quotas = [total * w / sum(weights) for w in weights]
    counts = [int(q) for q in quotas]
    by_remainder = sorted(range(windows), key=lambda k: counts[k] - quotas[k])
    for k in by_remainder[: total - sum(counts)]:
        counts[k] += 1
    return counts


class EventStream:
    """One pass over a world's events (use :meth:`World.events`, which bounds it)."""

    def __init__(self, world: World) -> None:
        config = world.config
        self.world = world
        self.rng = random.Random(config.seed * 1_000_003 + 17)
        self.start = to_ms(world.start)
        self.windows = config.weeks * 7 * 24
        self.published = [to_ms(v.published_at) for v in world.videos]
        self.deleted = [to_ms(v.deleted_at) if v.deleted_at else None for v in world.videos]
        self.popularity = [v.popularity for v in world.videos]
        self.users = [f"user-{i:06d}" for i in range(config.users)]
        self.video_ids = [str(v.id) for v in world.videos]
        self.by_account: dict[str, list[int]] = {str(a.id): [] for a in world.accounts}
        for index, video in enumerate(world.videos):
            self.by_account[str(video.account_id)].append(index)
        self.account_ids = list(self.by_account)
        self.account_cum = list(accumulate(
            0.2 + sum(self.popularity[i] for i in self.by_account[a]) for a in self.account_ids
        ))  # fmt: skip
        self.followers: dict[str, list[int]] = {a: [] for a in self.account_ids}
        self.following: dict[str, set[int]] = {a: set() for a in self.account_ids}
        self.sources: Iterator[str] = iter(())
        self.resend: dict[int, list[dict[str, Any]]] = {}
        self.recent: list[dict[str, Any]] = []
        self.hour_prefix: dict[int, str] = {}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        config = self.world.config
        fresh = config.events - round(config.events * config.duplicate_ratio)
        for k, count in enumerate(window_counts(fresh, self.start, self.windows)):
            yield from self.resend.pop(k, [])
            yield from self._window(k, count)
        for k in sorted(self.resend):
            yield from self.resend[k]
        while self.recent:  # endless re-deliveries; World.events() stops at config.events
            yield dict(self.rng.choice(self.recent))

    def _window(self, k: int, count: int) -> Iterator[dict[str, Any]]:
        t0 = self.start + k * HOUR
        eligible, cum = self._eligible(t0, t0 + HOUR)
        if not eligible or not count:
            return
        rng, rand = self.rng, self.rng.random
        kinds = rng.choices(TYPES, cum_weights=TYPE_CUM, k=count)
        videos = rng.choices(eligible, cum_weights=cum, k=count)
        accounts = rng.choices(self.account_ids, cum_weights=self.account_cum, k=count)
        self.sources = iter(rng.choices(SOURCES, cum_weights=SOURCE_CUM, k=count))
        specs: list[tuple[int, str, str | None, int]] = []
        for kind, video, account in zip(kinds, videos, accounts, strict=True):
            if kind in ACCOUNT_TYPES:
                specs.append((t0 + int(rand() * HOUR), kind, account, -1))
                continue
            low, high = max(t0, self.published[video]), t0 + HOUR
            if (deleted := self.deleted[video]) is not None:
                high = min(high, deleted)
            specs.append((low + int(rand() * (high - low)), kind, None, video))
        specs.sort(key=lambda s: s[0])
        duplicate_ratio = self.world.config.duplicate_ratio
        for moment, kind, subject, video in specs:
            event = self._event(moment, kind, subject, video)
            if rand() < duplicate_ratio:
                self.resend.setdefault(k + 1 + int(rand() * 47), []).append(dict(event))
            self.recent.append(event)
            if len(self.recent) > 2 * RECENT:
                del self.recent[:RECENT]
            yield event

    def _eligible(self, t0: int, t1: int) -> tuple[list[int], list[float]]:
        """Videos alive in ``[t0, t1)`` and their cumulative weights."""
        upto = bisect_right(self.published, t1 - 1)
        deleted, published, popularity = self.deleted, self.published, self.popularity
        eligible = [i for i in range(upto) if (d := deleted[i]) is None or d > t0]
        weights = [
            popularity[i] * (0.15 + 2.0 * math.exp(-max(0, t0 - published[i]) / (36 * HOUR)))
            for i in eligible
        ]
        return eligible, list(accumulate(weights))

    def _event(self, moment: int, kind: str, account: str | None, video: int) -> dict[str, Any]:
        rng = self.rng
        if rng.random() < self.world.config.late_ratio:
            floor = self.published[video] if video >= 0 else self.start - 7 * DAY
            moment = max(floor, moment - DAY - int(rng.random() * 5 * DAY))
        event: dict[str, Any] = {
            "eventId": uuid4_text(rng.getrandbits(128)),
            "type": kind,
            "occurredAt": self._timestamp(moment),
        }
        if account is not None:
            self._account_event(event, kind, account, moment)
            return event
        event["videoId"] = self.video_ids[video]
        if kind == "view":
            self._view(event, self.world.videos[video])
        else:
            event["userId"] = self.users[self._user()]
            if kind == "share" and rng.random() < 0.6:
                event["channel"] = rng.choice(CHANNELS)
        return event

    def _timestamp(self, moment: int) -> str:
        if self.rng.random() < self.world.config.offset_ratio:
            local = from_ms(moment).astimezone(self.rng.choice(OFFSETS))
            return local.isoformat(timespec="milliseconds")
        hour = moment - moment % HOUR
        prefix = self.hour_prefix.get(hour)
        if prefix is None:
            prefix = self.hour_prefix[hour] = from_ms(hour).strftime("%Y-%m-%dT%H")
        minute, rest = divmod(moment - hour, 60_000)
        return f"{prefix}:{minute:02d}:{rest // 1000:02d}.{rest % 1000:03d}Z"

    def _user(self) -> int:
        """A user's index; low indexes are the most active users."""
        return int(len(self.users) * self.rng.random() ** 2)

    def _attributes_of(self, user: int) -> dict[str, str] | None:
        given = self.world.user_attributes[user]
        return None if given is None else dict(given)

    def _view(self, event: dict[str, Any], video: SimVideo) -> None:
        rand, length = self.rng.random, video.duration_seconds
        viewer = self._user()
        event["viewerId"] = self.users[viewer]
        draw = rand()
        if draw < 0.3:
            watched = round(length * (1.0 + 2.0 * rand()), 2)  # loops
        elif draw < 0.35:
            watched = length
        else:
            watched = round(length * rand() ** 1.5, 2)
        event["watchedSeconds"] = watched
        if rand() < 0.1:  # the client's own judgement, which wins over the length rule
            event["completed"] = watched >= 0.97 * length
        source = event["source"] = next(self.sources)
        if source == "SEARCH" and rand() < 0.85:
            topic = self.rng.choice(video.topics)
            event["searchTerm"] = topic if rand() < 0.7 else f"best {topic}"
        if rand() < 0.75 and (attributes := self._attributes_of(viewer)) is not None:
            event["viewer"] = attributes

    def _account_event(self, event: dict[str, Any], kind: str, account: str, moment: int) -> None:
        event["accountId"] = account
        if kind == "profileView":
            event["viewerId"] = self.users[self._user()]
            return
        user = self._churn(kind, account)
        event["followerId"] = self.users[user]
        if kind == "follow":
            self._follow_details(event, account, moment, user)

    def _churn(self, kind: str, account: str) -> int:
        """Who follows or unfollows; updates the follow state (redundant ones leave it)."""
        rng, followers, following = self.rng, self.followers[account], self.following[account]
        if kind == "unfollow" and followers and rng.random() < 0.9:
            user = followers.pop(int(rng.random() * len(followers)))
            following.discard(user)
            return user
        if kind == "follow" and followers and rng.random() < 0.1:
            return rng.choice(followers)  # a redundant follow
        user = self._user()
        if kind == "follow" and user not in following:
            following.add(user)
            followers.append(user)
        elif kind == "unfollow" and user in following:
            following.discard(user)
            followers.remove(user)
        return user

    def _follow_details(self, event: dict[str, Any], account: str, moment: int, user: int) -> None:
        rng = self.rng
        if rng.random() < 0.6:
            alive = [
                i
                for i in self.by_account[account]
                if self.published[i] <= moment and ((d := self.deleted[i]) is None or d > moment)
            ]
            if alive:
                event["viaVideoId"] = self.video_ids[rng.choice(alive)]
        if rng.random() < 0.8 and (attributes := self._attributes_of(user)) is not None:
            event["follower"] = attributes
