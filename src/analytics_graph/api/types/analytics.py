"""An account's analytics: the Overview, Content and Followers sections."""

from __future__ import annotations

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
from projections.engagement.accounts import AccountOverview
from projections.entities.queries import VideoEntity
from projections.followers import queries as followers

MAX_TERRITORIES = 250


@strawberry.type(
    description="Each metric with its total, previous period, change and daily series."
)
class Overview:
    account_id: strawberry.Private[UUID]
    days: strawberry.Private[Days]

    async def _metrics(self, info: Info) -> AccountOverview:
        return await info.context.loaders.overview.load((self.account_id, self.days))

    @field
    async def video_views(self, info: Info) -> Metric:
        """Views of the account's videos (deleted ones included)."""
        return Metric.of((await self._metrics(info)).video_views)

    @field
    async def profile_views(self, info: Info) -> Metric:
        """Visits to the account's profile."""
        return Metric.of((await self._metrics(info)).profile_views)

    @field
    async def likes(self, info: Info) -> Metric:
        """Likes minus unlikes of the account's videos."""
        return Metric.of((await self._metrics(info)).likes)

    @field
    async def comments(self, info: Info) -> Metric:
        return Metric.of((await self._metrics(info)).comments)

    @field
    async def shares(self, info: Info) -> Metric:
        return Metric.of((await self._metrics(info)).shares)

    @field
    async def net_followers(self, info: Info) -> Metric:
        """Followers gained minus followers lost."""
        growth = await info.context.loaders.growth.load((self.account_id, self.days))
        return Metric.of(growth.net_followers)


@strawberry.type
class VideoStats:
    entity: strawberry.Private[VideoEntity]
    days: strawberry.Private[Days]
    video: Video

    @classmethod
    def of(cls, entity: VideoEntity, days: Days) -> VideoStats:
        return cls(entity=entity, days=days, video=Video.of(entity))

    async def _stats(self, info: Info) -> content.VideoStats:
        return await info.context.loaders.video_stats.load((self.entity.id, self.days))

    @field
    async def views(self, info: Info) -> int:
        """Views in the range."""
        return (await self._stats(info)).views

    @field
    async def likes(self, info: Info) -> int:
        """Likes minus unlikes in the range."""
        return (await self._stats(info)).likes

    @field
    async def comments(self, info: Info) -> int:
        return (await self._stats(info)).comments

    @field
    async def shares(self, info: Info) -> int:
        return (await self._stats(info)).shares

    @field
    async def views_gained_7d(self, info: Info) -> int:
        """Views in the 7 days ending at the range's end."""
        return (await self._stats(info)).views_gained_7d


@strawberry.type
class ContentAnalytics:
    account_id: strawberry.Private[UUID]
    days: strawberry.Private[Days]

    @field
    async def posted_videos(self, info: Info) -> list[VideoStats]:
        """The account's videos published in the range (not deleted ones), newest first."""
        videos = await info.context.loaders.posted.load((self.account_id, self.days))
        return [VideoStats.of(v, self.days) for v in videos]

    @field
    async def trending_videos(self, info: Info) -> list[VideoStats]:
        """The account's top 9 videos (not deleted ones, published by the range's end) by
        views in the 7 days ending at the range's end; ties: newer first."""
        ranked = await info.context.loaders.trending.load((self.account_id, self.days.end))
        videos = await info.context.loaders.video.load_many([video_id for video_id, _ in ranked])
        return [VideoStats.of(v, self.days) for v in videos if v is not None]


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
    range: DateRange
    overview: Overview
    content: ContentAnalytics
    followers: FollowerAnalytics

    @classmethod
    def of(cls, account_id: UUID, days: Days) -> AccountAnalytics:
        return cls(
            range=DateRange.of(days),
            overview=Overview(account_id=account_id, days=days),
            content=ContentAnalytics(account_id=account_id, days=days),
            followers=FollowerAnalytics(account_id=account_id, days=days),
        )
