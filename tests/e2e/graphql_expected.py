"""Expected numbers, computed in plain Python from a simulated world's events.

Independent of the code under test: it reads the generated dicts (the ingest
format) and applies DESIGN.md's metric definitions directly, in log order
(arrival order; a re-sent eventId counts once, at its first arrival).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from analytics_graph.simulation import SimVideo, World

DEMOGRAPHICS_THRESHOLD = 100


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def previous(start: date, end: date) -> tuple[date, date]:
    length = end - start
    last = start - timedelta(days=1)
    return last - length, last


@dataclass
class View:
    at: datetime
    viewer: str
    watched: float
    completed: bool
    source: str
    term: str | None


@dataclass
class VideoFacts:
    video: SimVideo
    views: list[View] = field(default_factory=list)
    likes: Counter[date] = field(default_factory=Counter)
    """Likes minus unlikes per day (a day with only unlikes is still a day with engagement)."""
    comments: Counter[date] = field(default_factory=Counter)
    shares: Counter[date] = field(default_factory=Counter)
    favorites: Counter[date] = field(default_factory=Counter)
    new_followers: Counter[date] = field(default_factory=Counter)


@dataclass
class AccountFacts:
    views: Counter[date] = field(default_factory=Counter)
    profile_views: Counter[date] = field(default_factory=Counter)
    likes: Counter[date] = field(default_factory=Counter)
    comments: Counter[date] = field(default_factory=Counter)
    shares: Counter[date] = field(default_factory=Counter)
    gained: Counter[date] = field(default_factory=Counter)
    lost: Counter[date] = field(default_factory=Counter)
    followers: dict[str, dict[str, str]] = field(default_factory=dict)
    follower_views: Counter[datetime] = field(default_factory=Counter)  # by UTC hour
    viewer_days: dict[str, set[date]] = field(default_factory=dict)
    """Each viewer's days with a view of any of the account's videos."""


class Expected:
    """Every number the API shows, for one world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.videos = {str(v.id): VideoFacts(v) for v in world.videos}
        self.accounts = {str(a.id): AccountFacts() for a in world.accounts}
        self.seen: set[str] = set()
        for event in world.events():
            self.add(event)

    def add(self, event: dict[str, Any]) -> None:
        """Folds in one more event (ingest format) recorded after the world's."""
        if event["eventId"] not in self.seen:
            self.seen.add(event["eventId"])
            self._apply(event)

    # ------------------------------------------------------------ folding

    def _apply(self, event: dict[str, Any]) -> None:
        at = _utc(event["occurredAt"])
        kind = event["type"]
        if kind in ("profileView", "follow", "unfollow"):
            self._account_event(kind, event, at)
            return
        facts = self.videos[event["videoId"]]
        account = self.accounts[str(facts.video.account_id)]
        day = at.date()
        if kind == "view":
            self._view(facts, account, event, at)
        elif kind in ("like", "unlike"):
            delta = 1 if kind == "like" else -1
            facts.likes[day] += delta
            account.likes[day] += delta
        elif kind == "comment":
            facts.comments[day] += 1
            account.comments[day] += 1
        elif kind == "share":
            facts.shares[day] += 1
            account.shares[day] += 1
        elif kind == "favorite":
            facts.favorites[day] += 1

    def _view(
        self, facts: VideoFacts, account: AccountFacts, event: dict[str, Any], at: datetime
    ) -> None:
        watched = float(event["watchedSeconds"])
        completed = event.get("completed")
        if completed is None:
            completed = watched >= facts.video.duration_seconds
        facts.views.append(
            View(
                at, event["viewerId"], watched, completed, event["source"], event.get("searchTerm")
            )
        )
        account.views[at.date()] += 1
        account.viewer_days.setdefault(event["viewerId"], set()).add(at.date())
        if event["viewerId"] in account.followers:
            account.follower_views[at.replace(minute=0, second=0, microsecond=0)] += 1

    def _account_event(self, kind: str, event: dict[str, Any], at: datetime) -> None:
        account = self.accounts[event["accountId"]]
        if kind == "profileView":
            account.profile_views[at.date()] += 1
            return
        user = event["followerId"]
        if kind == "follow":
            if user not in account.followers:
                account.gained[at.date()] += 1
                via = event.get("viaVideoId")
                if via is not None:
                    self.videos[via].new_followers[at.date()] += 1
            account.followers[user] = dict(event.get("follower") or {})
        elif user in account.followers:
            del account.followers[user]
            account.lost[at.date()] += 1

    # ------------------------------------------------------------ account

    def metric(self, per_day: Counter[date], start: date, end: date) -> dict[str, Any]:
        total = sum(per_day[d] for d in days(start, end))
        before = sum(per_day[d] for d in days(*previous(start, end)))
        return {
            "total": total,
            "previousTotal": before,
            "changeRatio": None if before == 0 else (total - before) / before,
            "daily": [{"date": d.isoformat(), "value": per_day[d]} for d in days(start, end)],
        }

    def overview(self, account_id: str, start: date, end: date) -> dict[str, Any]:
        a = self.accounts[account_id]
        net = Counter(a.gained)
        net.subtract(a.lost)
        return {
            "videoViews": self.metric(a.views, start, end),
            "profileViews": self.metric(a.profile_views, start, end),
            "likes": self.metric(a.likes, start, end),
            "comments": self.metric(a.comments, start, end),
            "shares": self.metric(a.shares, start, end),
            "netFollowers": self.metric(net, start, end),
        }

    def followers(self, account_id: str, start: date, end: date) -> dict[str, Any]:
        a = self.accounts[account_id]

        def count_at(day: date) -> int:
            return sum(v for d, v in a.gained.items() if d <= day) - sum(
                v for d, v in a.lost.items() if d <= day
            )

        gained = sum(a.gained[d] for d in days(start, end))
        lost = sum(a.lost[d] for d in days(start, end))
        hours: Counter[int] = Counter()
        weekdays: Counter[int] = Counter()
        for hour, views in a.follower_views.items():
            if start <= hour.date() <= end:
                hours[hour.hour] += views
                weekdays[hour.isoweekday()] += views
        return {
            "total": count_at(end),
            "gained": gained,
            "lost": lost,
            "netChange": gained - lost,
            "growth": [{"date": d.isoformat(), "value": count_at(d)} for d in days(start, end)],
            "activeHours": [{"hour": h, "value": hours[h]} for h in range(24)],
            "activeDays": [{"weekday": d, "value": weekdays[d]} for d in range(1, 8)],
        }

    def demographics(self, account_id: str) -> dict[str, dict[str, int]]:
        """Counts by key for gender, ageRanges and territories (empty below 100 followers)."""
        followers = self.accounts[account_id].followers
        if len(followers) < DEMOGRAPHICS_THRESHOLD:
            return {"gender": {}, "ageRanges": {}, "territories": {}}
        return {
            name: dict(Counter(f.get(attribute, "UNKNOWN") for f in followers.values()))
            for name, attribute in (
                ("gender", "gender"), ("ageRanges", "ageRange"), ("territories", "country")
            )
        }  # fmt: skip

    def viewers(self, account_id: str, start: date, end: date) -> dict[str, Any]:
        """Distinct viewers in the range; new: no view of the account in the 365 days
        before their first view in the range (per day: before that day)."""

        def new_on(seen: set[date], day: date) -> bool:
            return not any(day - timedelta(days=365) <= d < day for d in seen)

        people = self.accounts[account_id].viewer_days.values()
        firsts = [min(d for d in seen if start <= d <= end) for seen in people
                  if any(start <= d <= end for d in seen)]  # fmt: skip
        total = len(firsts)
        new = sum(
            new_on(seen, min(d for d in seen if start <= d <= end))
            for seen in people
            if any(start <= d <= end for d in seen)
        )
        daily = []
        for day in days(start, end):
            present = [seen for seen in people if day in seen]
            daily.append({"date": day.isoformat(), "total": len(present),
                          "new": sum(new_on(seen, day) for seen in present)})  # fmt: skip
        return {"total": total, "new": new, "returning": total - new, "daily": daily}

    def follower_count(self, account_id: str) -> int:
        return len(self.accounts[account_id].followers)

    # ------------------------------------------------------------ content

    def live_videos(self, account_id: str) -> list[SimVideo]:
        """The account's videos that were not deleted, newest first."""
        videos = [
            f.video
            for f in self.videos.values()
            if str(f.video.account_id) == account_id and f.video.deleted_at is None
        ]
        return sorted(videos, key=lambda v: (v.published_at, str(v.id)), reverse=True)

    def posted(self, account_id: str, start: date, end: date) -> list[str]:
        return [
            str(v.id)
            for v in self.live_videos(account_id)
            if start <= v.published_at.astimezone(UTC).date() <= end
        ]

    def views_between(self, video_id: str, start: date, end: date) -> int:
        return sum(1 for v in self.videos[video_id].views if start <= v.at.date() <= end)

    def views_7d(self, video_id: str, end: date) -> int:
        return self.views_between(video_id, end - timedelta(days=6), end)

    def trending(self, account_id: str, end: date) -> list[str]:
        """The top 9 live videos published by ``end`` by views in the 7 days ending at
        ``end``; ties: newer publication first, then the larger id."""
        candidates = [
            v for v in self.live_videos(account_id) if v.published_at.astimezone(UTC).date() <= end
        ]
        ranked = sorted(
            candidates,
            key=lambda v: (self.views_7d(str(v.id), end), v.published_at, str(v.id)),
            reverse=True,
        )
        return [str(v.id) for v in ranked[:9]]

    def video_stats(self, video_id: str, start: date, end: date) -> dict[str, float]:
        f = self.videos[video_id]
        span = days(start, end)
        views = self.views_between(video_id, start, end)
        engaged = sum(f.likes[d] + f.comments[d] + f.shares[d] for d in span)
        return {
            "views": views,
            "likes": sum(f.likes[d] for d in span),
            "comments": sum(f.comments[d] for d in span),
            "shares": sum(f.shares[d] for d in span),
            "viewsGained7d": self.views_7d(video_id, end),
            "engagementRate": engaged / views if views else 0.0,
        }

    # ------------------------------------------------------------ one video

    def lifetime(self, video_id: str) -> tuple[date, date]:
        """Publication day to the last day with engagement (or a new follower) of the video."""
        f = self.videos[video_id]
        first = f.video.published_at.astimezone(UTC).date()
        active = [v.at.date() for v in f.views]
        for per_day in (f.likes, f.comments, f.shares, f.favorites, f.new_followers):
            active += list(per_day)
        return first, max([first, *active])

    def video_analytics(self, video_id: str, start: date, end: date) -> dict[str, Any]:
        f = self.videos[video_id]
        span = days(start, end)
        views = [v for v in f.views if start <= v.at.date() <= end]
        count = len(views)
        play = sum(v.watched for v in views)
        searched = [v.term for v in views if v.term is not None]
        engaged = sum(f.likes[d] + f.comments[d] + f.shares[d] for d in span)
        return {
            "views": count,
            "engagementRate": engaged / count if count else 0.0,
            "likes": sum(f.likes[d] for d in span),
            "comments": sum(f.comments[d] for d in span),
            "shares": sum(f.shares[d] for d in span),
            "favorites": sum(f.favorites[d] for d in span),
            "totalPlayTimeSeconds": play,
            "averageWatchTimeSeconds": play / count if count else 0.0,
            "watchedFullVideoRatio": sum(v.completed for v in views) / count if count else 0.0,
            "newFollowers": sum(f.new_followers[d] for d in span),
            "reachedAudience": len({v.viewer for v in views}),
            "trafficSources": dict(Counter(v.source for v in views)),
            "searchQueries": dict(Counter(searched)),
            "searchedViews": len(searched),
            "retention": self.retention(f.video, views),
            "daily": [self._video_day(f, d) for d in span],
            "hourly": self.hourly(video_id),
        }

    def retention(self, video: SimVideo, views: list[View]) -> list[float]:
        length = video.duration_seconds
        capped = [min(v.watched, length) for v in views]
        return [
            (sum(1 for c in capped if c >= s) / len(capped)) if capped else 0.0
            for s in range(math.ceil(length) + 1)
        ]

    def _video_day(self, f: VideoFacts, day: date) -> dict[str, Any]:
        views = [v for v in f.views if v.at.date() == day]
        return {
            "date": day.isoformat(),
            "views": len(views),
            "playTimeSeconds": sum(v.watched for v in views),
            "likes": f.likes[day],
            "comments": f.comments[day],
            "shares": f.shares[day],
            "newFollowers": f.new_followers[day],
        }

    def hourly(self, video_id: str) -> list[dict[str, Any]]:
        f = self.videos[video_id]
        first = f.video.published_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        per_hour = Counter(v.at.replace(minute=0, second=0, microsecond=0) for v in f.views)
        hours = [first + timedelta(hours=i) for i in range(48)]
        return [{"hour": h.isoformat(), "views": per_hour[h]} for h in hours]

    # ------------------------------------------------------------ comparison

    def cumulative(self, video: SimVideo, days_: int, today: date) -> list[int]:
        """Views from publication to the end of day k after it, k = 0 .. days-1, up to today."""
        first = video.published_at.astimezone(UTC).date()
        views = [v.at.date() for v in self.videos[str(video.id)].views]
        return [
            sum(1 for d in views if d <= first + timedelta(days=k))
            for k in range(days_)
            if first + timedelta(days=k) <= today
        ]

    def comparison(
        self, account_id: str, video_ids: list[str], days_: int, today: date
    ) -> dict[str, Any]:
        peers = self.live_videos(account_id)

        def ended(video: SimVideo, k: int) -> bool:
            return video.published_at.astimezone(UTC).date() + timedelta(days=k) < today

        curves = {str(v.id): self.cumulative(v, days_, today) for v in peers}
        median: list[float | None] = []
        for k in range(days_):
            values = sorted(curves[str(v.id)][k] for v in peers if ended(v, k))
            if not values:
                median.append(None)
                continue
            mid = len(values) // 2
            median.append(float(values[mid]) if len(values) % 2
                          else (values[mid - 1] + values[mid]) / 2)  # fmt: skip
        compared = []
        for video_id in video_ids:
            video = self.videos[video_id].video
            curve = self.cumulative(video, days_, today)
            percentile: list[float | None] = []
            for k, value in enumerate(curve):
                others = [curves[str(v.id)][k] for v in peers
                          if ended(v, k) and str(v.id) != video_id]  # fmt: skip
                below = sum(1 for n in others if n < value)
                percentile.append(below / len(others) if len(others) >= 3 else None)
            hours = [h["views"] for h in self.hourly(video_id)]
            compared.append({
                "video": {"id": video_id}, "cumulativeViews": curve, "percentile": percentile,
                "hourly": [sum(hours[: i + 1]) for i in range(48)],
            })  # fmt: skip
        return {"videos": compared, "median": median}
