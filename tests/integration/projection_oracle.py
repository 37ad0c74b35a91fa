"""Expected read-model numbers, computed straight from a simulated world's events.

Plain Python over the generated dicts in log order (deduplicated by eventId, the
first delivery wins), independent of the projections and their SQL: this is what
the projection tests compare the query modules against.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from analytics_graph.simulation import SimVideo, World

VIDEO_TYPES = frozenset(("view", "like", "unlike", "comment", "share", "favorite"))
COUNT_FIELDS = ("views", "completed", "likes", "comments", "shares", "favorites", "new_followers")


def moment(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurredAt"]).astimezone(UTC)


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


@dataclass
class Counts:
    """One bucket of video counts; play time kept exact (as PostgreSQL's numeric)."""

    views: int = 0
    play_time: Decimal = Decimal(0)
    completed: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    favorites: int = 0
    new_followers: int = 0


@dataclass
class Expected:
    """Everything the read models should answer, keyed by plain tuples."""

    videos: dict[UUID, SimVideo]
    account_days: dict[tuple[UUID, date], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    video_days: dict[tuple[UUID, date], Counts] = field(default_factory=lambda: defaultdict(Counts))
    video_hours: dict[tuple[UUID, datetime], Counts] = field(
        default_factory=lambda: defaultdict(Counts)
    )
    sources: dict[tuple[UUID, date], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    terms: dict[tuple[UUID, date], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    retention: dict[tuple[UUID, date], Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    """Views per whole second watched (capped at the length), per video and day."""
    viewers: dict[tuple[UUID, date], set[str]] = field(default_factory=lambda: defaultdict(set))
    """Viewers per video and day."""
    view_hours: Counter[tuple[UUID, datetime, UUID]] = field(default_factory=Counter)
    """Views per (video, UTC clock hour, the video's account), over the whole life."""
    account_viewers: dict[UUID, dict[str, set[date]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    """Per account: each viewer's days with a view of any of its videos."""
    followers: dict[UUID, dict[str, dict[str, str]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    follower_days: dict[tuple[UUID, date], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    activity: dict[tuple[UUID, date, int], int] = field(default_factory=lambda: defaultdict(int))
    events: int = 0
    duplicates: int = 0

    # ------------------------------------------------------------- folding

    def add(self, event: dict[str, Any]) -> None:
        kind, at = event["type"], moment(event)
        if kind in VIDEO_TYPES:
            self._video_event(event, kind, at)
        elif kind == "profileView":
            self.account_days[UUID(event["accountId"]), at.date()]["profile_views"] += 1
        else:
            self._follow_event(event, kind, at)

    def _buckets(self, video: SimVideo, at: datetime) -> list[Counts]:
        buckets = [self.video_days[video.id, at.date()]]
        first = hour_of(video.published_at.astimezone(UTC))
        if first <= at < first + timedelta(hours=48):
            buckets.append(self.video_hours[video.id, hour_of(at)])
        return buckets

    def _video_event(self, event: dict[str, Any], kind: str, at: datetime) -> None:
        video = self.videos[UUID(event["videoId"])]
        day = at.date()
        account = self.account_days[video.account_id, day]
        for bucket in self._buckets(video, at):
            if kind == "view":
                self._view(bucket, video, event)
            elif kind == "unlike":
                bucket.likes -= 1
            else:
                setattr(bucket, kind + "s", getattr(bucket, kind + "s") + 1)
        if kind == "view":
            account["video_views"] += 1
            self._view_dimensions(video, event, at)
        elif kind in ("like", "unlike"):
            account["likes"] += 1 if kind == "like" else -1
        elif kind in ("comment", "share"):
            account[kind + "s"] += 1

    @staticmethod
    def _view(bucket: Counts, video: SimVideo, event: dict[str, Any]) -> None:
        watched = event["watchedSeconds"]
        completed = event.get("completed", watched >= video.duration_seconds)
        bucket.views += 1
        bucket.play_time += Decimal(repr(watched))
        bucket.completed += int(completed)

    def _view_dimensions(self, video: SimVideo, event: dict[str, Any], at: datetime) -> None:
        key = (video.id, at.date())
        self.sources[key][event["source"]] += 1
        if "searchTerm" in event:
            self.terms[key][event["searchTerm"]] += 1
        capped = min(float(event["watchedSeconds"]), video.duration_seconds)
        self.retention[key][math.floor(capped)] += 1
        self.viewers[key].add(event["viewerId"])
        self.view_hours[video.id, hour_of(at), video.account_id] += 1
        self.account_viewers[video.account_id][event["viewerId"]].add(at.date())
        if event["viewerId"] in self.followers[video.account_id]:
            self.activity[video.account_id, at.date(), at.hour] += 1

    def _follow_event(self, event: dict[str, Any], kind: str, at: datetime) -> None:
        account, user = UUID(event["accountId"]), event["followerId"]
        current = self.followers[account]
        if kind == "follow":
            if user not in current:
                self.follower_days[account, at.date()]["gained"] += 1
                if "viaVideoId" in event:
                    via = self.videos[UUID(event["viaVideoId"])]
                    for bucket in self._buckets(via, at):
                        bucket.new_followers += 1
            given = event.get("follower") or {}
            current[user] = {
                "gender": given.get("gender", "UNKNOWN"),
                "age_range": given.get("ageRange", "UNKNOWN"),
                "country": given.get("country", "UNKNOWN").upper(),
            }
        elif user in current:
            del current[user]
            self.follower_days[account, at.date()]["lost"] += 1

    # ------------------------------------------------------------- questions

    def demographics(self, account: UUID, dimension: str) -> Counter[str]:
        return Counter(attrs[dimension] for attrs in self.followers[account].values())

    def follower_total_at(self, account: UUID, day: date) -> int:
        return sum(
            c["gained"] - c["lost"]
            for (a, d), c in self.follower_days.items()
            if a == account and d <= day
        )

    def reach(self, video: UUID, start: date, end: date) -> int:
        """Distinct viewers of the video with a view in ``start .. end``."""
        seen: set[str] = set()
        for (v, d), viewers in self.viewers.items():
            if v == video and start <= d <= end:
                seen |= viewers
        return len(seen)

    def retention_in(self, video: UUID, start: date, end: date) -> Counter[int]:
        total: Counter[int] = Counter()
        for (v, d), histogram in self.retention.items():
            if v == video and start <= d <= end:
                total.update(histogram)
        return total

    def viewers_of(self, account: UUID, start: date, end: date) -> tuple[int, int]:
        """(total, new) over ``start .. end``: distinct viewers of the account's videos,
        and those without a view of it in the 365 days before their first in the range."""
        total = new = 0
        for seen in self.account_viewers[account].values():
            inside = sorted(d for d in seen if start <= d <= end)
            if inside:
                total += 1
                first = inside[0]
                new += not any(first - timedelta(days=365) <= d < first for d in seen)
        return total, new

    def video_range(self, video: UUID, start: date, end: date) -> Counts:
        total = Counts()
        for (v, d), c in self.video_days.items():
            if v == video and start <= d <= end:
                for name in ("play_time", *COUNT_FIELDS):
                    setattr(total, name, getattr(total, name) + getattr(c, name))
        return total


def expected_from(world: World) -> Expected:
    """Folds the world's events in log order (first delivery of each eventId)."""
    expected = Expected(videos={v.id: v for v in world.videos})
    seen: set[str] = set()
    for event in world.events():
        if event["eventId"] in seen:
            expected.duplicates += 1
            continue
        seen.add(event["eventId"])
        expected.events += 1
        expected.add(event)
    return expected
