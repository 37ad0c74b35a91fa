"""An account's analytics: the Overview, Content and Followers sections."""

from __future__ import annotations

from uuid import UUID

import strawberry

from analytics_graph.api.context import Info
from analytics_graph.api.engine.fields import field
from analytics_graph.api.engine.selection import selected, selected_under
from analytics_graph.api.errors import page_size
from analytics_graph.api.reads.days import Days
from analytics_graph.api.types.alerts import Alert
from analytics_graph.api.types.audience import (
    UNSELECTED_FRESHNESS,
    Freshness,
    Viewers,
    load_freshness,
    load_viewers,
)
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
from projections import readmodel
from projections.alerts.queries import alerts_in_range
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
    engagement_rate: float = strawberry.field(
        description="(likes + comments + shares) / views in the range; 0 without views."
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
            engagement_rate=stats.engagement_rate,
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
    """Built whole by :func:`account_analytics`: plain data, completed in one pass."""

    range: DateRange
    content: ContentAnalytics
    followers: FollowerAnalytics
    overview: Overview = strawberry.field(
        description="Each metric with its total, previous period, change and daily series."
    )
    viewers: Viewers = strawberry.field(
        description="Distinct viewers of the account's videos in the range: new and returning."
    )
    as_of: Freshness = strawberry.field(
        description="The last log position these numbers include, and when it was recorded."
    )
    account_id: strawberry.Private[UUID | None] = None
    days: strawberry.Private[Days | None] = None

    @field
    async def alerts(self, info: Info) -> list[Alert]:
        """The alerts whose window starts in the range, newest first (at most 1000)."""
        if self.account_id is None or self.days is None:
            return []
        found = await info.context.session.run(
            alerts_in_range, self.account_id, self.days.start, self.days.end
        )
        return [Alert.of(a) for a in found]


_NO_METRIC = METRIC.one(readmodel.NO_METRIC)
UNSELECTED_OVERVIEW = Overview(
    video_views=_NO_METRIC, profile_views=_NO_METRIC, likes=_NO_METRIC, comments=_NO_METRIC,
    shares=_NO_METRIC, net_followers=_NO_METRIC,
)  # fmt: skip
UNSELECTED_CONTENT = ContentAnalytics(posted_videos=[], trending_videos=[])
UNSELECTED_FOLLOWERS = FollowerAnalytics(
    total=0, gained=0, lost=0, net_change=0, growth=[], gender=[], age_ranges=[],
    territories=[], active_hours=[], active_days=[],
)  # fmt: skip
UNSELECTED_VIEWERS = Viewers(total=0, new=0, returning=0, daily=[])
"""Stand-ins for sections a query does not select (never read, so never shown)."""


async def account_analytics(info: Info, account_id: UUID, days: Days) -> AccountAnalytics:
    """The account's analytics over ``days``: the sections the selection names, each
    one statement (the Overview two: its counts, and, when ``netFollowers`` is
    selected, the follower growth for its net followers, which the Followers one
    gives when selected too; ``viewers`` and
    ``asOf`` one each). The Overview's two read the ids of every answer in the
    request (or round of subscriptions) that asks for the same days at once."""
    wanted, loaders, key = selected(info), info.context.loaders, (account_id, days)
    overview, content, followers = UNSELECTED_OVERVIEW, UNSELECTED_CONTENT, UNSELECTED_FOLLOWERS
    if "overview" in wanted:
        counts = await loaders.overview.load(key)
        assert counts is not None  # zeros for an account without days
        net = readmodel.NO_METRIC  # never shown: netFollowers is not selected
        if "followers" in wanted:  # read whole anyway: one statement for both
            net = (await loaders.followers.load(key)).growth.net_followers
        elif "netFollowers" in selected_under(info, "overview"):
            growth = await loaders.follower_growth.load(key)
            assert growth is not None
            net = growth.net_followers
        overview = Overview(
            video_views=METRIC.one(counts.video_views),
            profile_views=METRIC.one(counts.profile_views),
            likes=METRIC.one(counts.likes),
            comments=METRIC.one(counts.comments),
            shares=METRIC.one(counts.shares),
            net_followers=METRIC.one(net),
        )
    if "content" in wanted:
        content = await _content(info, account_id, days)
    if "followers" in wanted:
        followers = await _followers(info, account_id, days)
    viewers = await load_viewers(info, account_id, days) if "viewers" in wanted else None
    as_of = await load_freshness(info) if "asOf" in wanted else None
    return AccountAnalytics(
        range=DateRange.of(days), content=content, followers=followers, overview=overview,
        viewers=viewers or UNSELECTED_VIEWERS, as_of=as_of or UNSELECTED_FRESHNESS,
        account_id=account_id, days=days,
    )  # fmt: skip
