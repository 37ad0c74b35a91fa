"""An account's analytics: the Overview, Content and Followers sections."""

from __future__ import annotations

from uuid import UUID

import strawberry

from analytics_graph.api.context import Info
from analytics_graph.api.errors import page_size
from analytics_graph.api.fields import field
from analytics_graph.api.ranges import Days
from analytics_graph.api.types.common import (
    DAILY,
    DAY,
    HOUR,
    METRIC,
    SHARE,
    DailyValue,
    DateRange,
    DayValue,
    HourValue,
    Metric,
    Share,
)
from analytics_graph.api.types.video import Video
from projections.engagement import content
from projections.entities.queries import VideoEntity

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


@strawberry.type
class ContentAnalytics:
    posted_videos: list[VideoStats] = strawberry.field(
        description="The account's videos published in the range (not deleted ones), newest first."
    )
    trending_videos: list[VideoStats] = strawberry.field(
        description="The account's top 9 videos (not deleted ones, published by the range's end)"
        " by\nviews in the 7 days ending at the range's end; ties: newer first."
    )


async def _content(info: Info, account_id: UUID, days: Days) -> ContentAnalytics:
    section = await info.context.loaders.content.load((account_id, days))
    return ContentAnalytics(
        posted_videos=[VideoStats.of(v, s) for v, s in section.posted],
        trending_videos=[VideoStats.of(v, s) for v, s in section.trending],
    )


def top_territories(root: FollowerAnalytics, first: int | None = 5) -> list[Share]:
    return root.territories[: page_size(first, 5, MAX_TERRITORIES)]


@strawberry.type
class FollowerAnalytics:
    total: int = strawberry.field(description="Followers at the end of the range's last day.")
    gained: int = strawberry.field(description="Follows in the range that made a user a follower.")
    lost: int = strawberry.field(description="Unfollows in the range that ended a follow.")
    net_change: int = strawberry.field(description="gained - lost.")
    growth: list[DailyValue] = strawberry.field(
        description="Follower count at the end of each day of the range."
    )
    gender: list[Share] = strawberry.field(
        description="Current followers by gender (UNKNOWN: not given); ratio = count / followers."
        "\nEmpty below 100 current followers (too few to show without identifying people)."
    )
    age_ranges: list[Share] = strawberry.field(
        description="Current followers by age range; empty below 100 current followers."
    )
    territories: strawberry.Private[list[Share]]
    top_territories: list[Share] = strawberry.field(
        resolver=top_territories,
        description="The `first` countries with the most current followers (ISO 3166-1"
        " alpha-2,\nUNKNOWN: not given); empty below 100 current followers.",
    )
    active_hours: list[HourValue] = strawberry.field(
        description="Views in the range by users following the account when they viewed, by UTC"
        "\nhour of day: 24 entries."
    )
    active_days: list[DayValue] = strawberry.field(
        description="The same views by weekday (1 = Monday): 7 entries."
    )


async def _followers(info: Info, account_id: UUID, days: Days) -> FollowerAnalytics:
    section = await info.context.loaders.followers.load((account_id, days))
    growth, people, activity = section.growth, section.demographics, section.activity
    return FollowerAnalytics(
        total=growth.total,
        gained=growth.gained,
        lost=growth.lost,
        net_change=growth.net_change,
        growth=DAILY.many(growth.growth),
        gender=SHARE.many(people.gender),
        age_ranges=SHARE.many(people.age_ranges),
        territories=SHARE.many(people.territories),
        active_hours=HOUR.many(activity.hours),
        active_days=DAY.many(activity.days),
    )


@strawberry.type
class AccountAnalytics:
    account_id: strawberry.Private[UUID]
    days: strawberry.Private[Days]
    range: DateRange

    @classmethod
    def of(cls, account_id: UUID, days: Days) -> AccountAnalytics:
        return cls(account_id=account_id, days=days, range=DateRange.of(days))

    @strawberry.field
    async def content(self, info: Info) -> ContentAnalytics:
        return await _content(info, self.account_id, self.days)

    @strawberry.field
    async def followers(self, info: Info) -> FollowerAnalytics:
        return await _followers(info, self.account_id, self.days)

    @field
    async def overview(self, info: Info) -> Overview:
        """Each metric with its total, previous period, change and daily series."""
        key = (self.account_id, self.days)
        counts = await info.context.loaders.overview.load(key)
        growth = (await info.context.loaders.followers.load(key)).growth
        return Overview(
            video_views=METRIC.one(counts.video_views),
            profile_views=METRIC.one(counts.profile_views),
            likes=METRIC.one(counts.likes),
            comments=METRIC.one(counts.comments),
            shares=METRIC.one(counts.shares),
            net_followers=METRIC.one(growth.net_followers),
        )
