"""An account's analytics: the Overview, Content and Followers sections."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import strawberry

from analytics_graph.api.context import Info
from analytics_graph.api.errors import page_size
from analytics_graph.api.fields import field
from analytics_graph.api.ranges import Days
from analytics_graph.api.types.common import (
    DailyValue,
    DateRange,
    DayValue,
    HourValue,
    Metric,
    Share,
    series,
)
from analytics_graph.api.types.video import Video
from projections.engagement import content
from projections.entities.queries import VideoEntity
from projections.followers import queries as followers

MAX_TERRITORIES = 250


@strawberry.type(
    description="Each metric with its total, previous period, change and daily series."
)
class Overview:
    video_views: Metric = strawberry.field(
        description="Views of the account's videos (deleted ones included)."
    )
    profile_views: Metric = strawberry.field(description="Visits to the account's profile.")
    likes: Metric = strawberry.field(description="Likes minus unlikes of the account's videos.")
    comments: Metric
    shares: Metric
    net_followers: Metric = strawberry.field(description="Followers gained minus followers lost.")


@strawberry.type
class VideoStats:
    video: Video
    views: int = strawberry.field(description="Views in the range.")
    likes: int = strawberry.field(description="Likes minus unlikes in the range.")
    comments: int
    shares: int
    views_gained_7d: int = strawberry.field(
        description="Views in the 7 days ending at the range's end."
    )

    @classmethod
    def of(cls, entity: VideoEntity, stats: content.VideoStats) -> VideoStats:
        return cls(
            video=Video.of(entity),
            views=stats.views,
            likes=stats.likes,
            comments=stats.comments,
            shares=stats.shares,
            views_gained_7d=stats.views_gained_7d,
        )


async def _with_stats(info: Info, videos: Sequence[VideoEntity], days: Days) -> list[VideoStats]:
    """The videos with their counts in ``days`` (one statement for all of them)."""
    stats = await info.context.loaders.video_stats.load_many([(v.id, days) for v in videos])
    return [VideoStats.of(v, s or content.VideoStats()) for v, s in zip(videos, stats, strict=True)]


@strawberry.type
class ContentAnalytics:
    account_id: strawberry.Private[UUID]
    days: strawberry.Private[Days]

    @field
    async def posted_videos(self, info: Info) -> list[VideoStats]:
        """The account's videos published in the range (not deleted ones), newest first."""
        videos = await info.context.loaders.posted.load((self.account_id, self.days))
        return await _with_stats(info, videos, self.days)

    @field
    async def trending_videos(self, info: Info) -> list[VideoStats]:
        """The account's top 9 videos (not deleted ones, published by the range's end) by
        views in the 7 days ending at the range's end; ties: newer first."""
        ranked = await info.context.loaders.trending.load((self.account_id, self.days.end))
        found = await info.context.loaders.video.load_many([video_id for video_id, _ in ranked])
        return await _with_stats(info, [v for v in found if v is not None], self.days)


@strawberry.type
class FollowerAnalytics:
    account_id: strawberry.Private[UUID]
    days: strawberry.Private[Days]

    async def _summary(self, info: Info) -> followers.FollowerGrowth:
        return await info.context.loaders.growth.load((self.account_id, self.days))

    @field
    async def total(self, info: Info) -> int:
        """Followers at the end of the range's last day."""
        return (await self._summary(info)).total

    @field
    async def gained(self, info: Info) -> int:
        """Follows in the range that made a user a follower."""
        return (await self._summary(info)).gained

    @field
    async def lost(self, info: Info) -> int:
        """Unfollows in the range that ended a follow."""
        return (await self._summary(info)).lost

    @field
    async def net_change(self, info: Info) -> int:
        """gained - lost."""
        return (await self._summary(info)).net_change

    @field
    async def growth(self, info: Info) -> list[DailyValue]:
        """Follower count at the end of each day of the range."""
        return series((await self._summary(info)).growth)

    @field
    async def gender(self, info: Info) -> list[Share]:
        """Current followers by gender (UNKNOWN: not given); ratio = count / followers.
        Empty below 100 current followers (too few to show without identifying people)."""
        demographics = await info.context.loaders.demographics.load((self.account_id, None))
        return [Share.of(s) for s in demographics.gender]

    @field
    async def age_ranges(self, info: Info) -> list[Share]:
        """Current followers by age range; empty below 100 current followers."""
        demographics = await info.context.loaders.demographics.load((self.account_id, None))
        return [Share.of(s) for s in demographics.age_ranges]

    @field
    async def top_territories(self, info: Info, first: int | None = 5) -> list[Share]:
        """The `first` countries with the most current followers (ISO 3166-1 alpha-2,
        UNKNOWN: not given); empty below 100 current followers."""
        size = page_size(first, 5, MAX_TERRITORIES)
        demographics = await info.context.loaders.demographics.load((self.account_id, None))
        return [Share.of(s) for s in demographics.territories[:size]]

    @field
    async def active_hours(self, info: Info) -> list[HourValue]:
        """Views in the range by users following the account when they viewed, by UTC
        hour of day: 24 entries."""
        activity = await info.context.loaders.activity.load((self.account_id, self.days))
        return [HourValue(hour=h.hour, value=h.value) for h in activity.hours]

    @field
    async def active_days(self, info: Info) -> list[DayValue]:
        """The same views by weekday (1 = Monday): 7 entries."""
        activity = await info.context.loaders.activity.load((self.account_id, self.days))
        return [DayValue(weekday=d.weekday, value=d.value) for d in activity.days]


@strawberry.type
class AccountAnalytics:
    account_id: strawberry.Private[UUID]
    days: strawberry.Private[Days]
    range: DateRange
    content: ContentAnalytics
    followers: FollowerAnalytics

    @classmethod
    def of(cls, account_id: UUID, days: Days) -> AccountAnalytics:
        return cls(
            account_id=account_id,
            days=days,
            range=DateRange.of(days),
            content=ContentAnalytics(account_id=account_id, days=days),
            followers=FollowerAnalytics(account_id=account_id, days=days),
        )

    @field
    async def overview(self, info: Info) -> Overview:
        """Each metric with its total, previous period, change and daily series."""
        key = (self.account_id, self.days)
        counts = await info.context.loaders.overview.load(key)
        growth = await info.context.loaders.growth.load(key)
        return Overview(
            video_views=Metric.of(counts.video_views),
            profile_views=Metric.of(counts.profile_views),
            likes=Metric.of(counts.likes),
            comments=Metric.of(counts.comments),
            shares=Metric.of(counts.shares),
            net_followers=Metric.of(growth.net_followers),
        )
