"""Videos and their analytics."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from analytics_graph.api.context import Info
from analytics_graph.api.errors import NotProAccount, page_size
from analytics_graph.api.fields import field
from analytics_graph.api.ranges import DateRangeInput, Days, resolve
from analytics_graph.api.types.common import Share
from projections import readmodel
from projections.engagement import videos
from projections.entities.queries import VideoEntity

if TYPE_CHECKING:
    from analytics_graph.api.types.account import Account


@strawberry.type
class Video:
    entity: strawberry.Private[VideoEntity]
    id: strawberry.ID
    caption: str
    duration_seconds: float
    published_at: datetime
    deleted: bool = strawberry.field(
        description="Deleted videos take no engagement; their past engagement still counts."
    )

    @classmethod
    def of(cls, entity: VideoEntity) -> Video:
        return cls(
            entity=entity,
            id=strawberry.ID(str(entity.id)),
            caption=entity.caption,
            duration_seconds=entity.duration_seconds,
            published_at=entity.published_at,
            deleted=entity.deleted,
        )

    @field
    async def account(
        self, info: Info
    ) -> Annotated[Account, strawberry.lazy("analytics_graph.api.types.account")]:
        """The account that published the video."""
        from analytics_graph.api.types.account import Account

        owner = await info.context.loaders.account.load(self.entity.account_id)
        if owner is None:  # the entities projection holds every video's account
            raise LookupError(f"the account of video {self.id} is missing")
        return Account.of(owner)

    @field
    async def analytics(
        self, info: Info, range: DateRangeInput | None = strawberry.UNSET
    ) -> VideoAnalytics:
        """The video's analytics over a range; without one, over its whole life (from
        the day of publication to the last day with engagement). An error unless the
        account is Pro."""
        owner = await info.context.loaders.account.load(self.entity.account_id)
        if owner is None or not owner.is_pro:
            raise NotProAccount(self.entity.account_id)
        days = resolve(range, info.context.today) if range else None
        return VideoAnalytics(entity=self.entity, days=days)


@strawberry.type
class RetentionPoint:
    second: int
    ratio: float = strawberry.field(description="Share of views still watching at this second.")


@strawberry.type
class VideoDay:
    date: date
    views: int
    play_time_seconds: float
    likes: int
    comments: int
    shares: int
    new_followers: int

    @classmethod
    def of(cls, day: videos.VideoDay) -> VideoDay:
        counts = day.counts
        return cls(
            date=day.date,
            views=counts.views,
            play_time_seconds=counts.play_time_seconds,
            likes=counts.likes,
            comments=counts.comments,
            shares=counts.shares,
            new_followers=counts.new_followers,
        )


@strawberry.type
class VideoHour:
    hour: datetime = strawberry.field(description="The start of a UTC clock hour.")
    views: int


@strawberry.type
class VideoAnalytics:
    entity: strawberry.Private[VideoEntity]
    days: strawberry.Private[Days | None]
    """``None``: the video's whole life."""

    async def _analytics(self, info: Info) -> videos.VideoAnalytics:
        found = await info.context.loaders.video_analytics.load((self.entity.id, self.days))
        return found or _nothing_yet(self.entity, self.days)

    async def _totals(self, info: Info) -> videos.VideoCounts:
        return (await self._analytics(info)).totals

    @field
    async def views(self, info: Info) -> int:
        """Views in the range (every view event counts)."""
        return (await self._totals(info)).views

    @field
    async def likes(self, info: Info) -> int:
        """Likes minus unlikes in the range."""
        return (await self._totals(info)).likes

    @field
    async def comments(self, info: Info) -> int:
        return (await self._totals(info)).comments

    @field
    async def shares(self, info: Info) -> int:
        return (await self._totals(info)).shares

    @field
    async def favorites(self, info: Info) -> int:
        return (await self._totals(info)).favorites

    @field
    async def total_play_time_seconds(self, info: Info) -> float:
        """Sum of watched seconds as sent (loops count)."""
        return (await self._totals(info)).play_time_seconds

    @field
    async def average_watch_time_seconds(self, info: Info) -> float:
        """Play time / views; 0 without views."""
        return (await self._analytics(info)).average_watch_time_seconds

    @field
    async def watched_full_video_ratio(self, info: Info) -> float:
        """Completed views / views; 0 without views."""
        return (await self._analytics(info)).watched_full_video_ratio

    @field
    async def new_followers(self, info: Info) -> int:
        """Follows in the range through this video (viaVideoId) that made the user a
        follower."""
        return (await self._totals(info)).new_followers

    @field
    async def reached_audience(self, info: Info) -> int:
        """Unique viewers, over the video's whole life (also when a range is given)."""
        return (await self._analytics(info)).reached_audience

    @field
    async def traffic_sources(self, info: Info) -> list[Share]:
        """Views in the range by traffic source, largest first; ratio = count / views."""
        return [Share.of(s) for s in (await self._analytics(info)).traffic_sources]

    @field
    async def search_queries(self, info: Info, first: int | None = 10) -> list[Share]:
        """The most frequent search terms of the range's views (`first` at most 100);
        ratio = count / views that carry a search term."""
        size = page_size(first, 10, info.context.services.limits.max_page_size)
        return [Share.of(s) for s in (await self._analytics(info)).search_queries[:size]]

    @field
    async def retention(self, info: Info) -> list[RetentionPoint]:
        """Share of views still watching at each second, 0 .. ceil(length), over the
        video's whole life (also when a range is given)."""
        points = (await self._analytics(info)).retention
        return [RetentionPoint(second=p.second, ratio=p.ratio) for p in points]

    @field
    async def daily(self, info: Info) -> list[VideoDay]:
        """One entry per day of the range (of the whole life: publication day to the last
        day with engagement), ascending, zero-filled."""
        return [VideoDay.of(d) for d in (await self._analytics(info)).daily]

    @field
    async def hourly(self, info: Info) -> list[VideoHour]:
        """Views in the first 48 UTC clock hours, starting at the hour of publication."""
        hours = await info.context.loaders.video_hourly.load(self.entity.id) or []
        return [VideoHour(hour=h.hour, views=h.counts.views) for h in hours]


def _nothing_yet(entity: VideoEntity, days: Days | None) -> videos.VideoAnalytics:
    """Zeros, for a video the engagement read model has not seen yet (it was published
    a moment ago, and that projection is a batch behind the one listing videos)."""
    start = days.start if days else entity.published_at.astimezone(UTC).date()
    end = days.end if days else start
    return videos.VideoAnalytics(
        start=start,
        end=end,
        totals=videos.VideoCounts(),
        reached_audience=0,
        traffic_sources=[],
        search_queries=[],
        retention=videos.retention_points({}, entity.duration_seconds),
        daily=[videos.VideoDay(d, videos.VideoCounts()) for d in readmodel.days(start, end)],
    )
