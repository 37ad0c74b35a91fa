"""Videos and their analytics."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from analytics_graph.api.context import Info
from analytics_graph.api.engine import Served
from analytics_graph.api.engine.fields import field
from analytics_graph.api.engine.selection import selected
from analytics_graph.api.errors import ProAccountRequired, page_size
from analytics_graph.api.types.audience import UNSELECTED_FRESHNESS, Freshness, load_freshness
from analytics_graph.api.types.common import SHARE, Share
from analytics_graph.api.types.export import ExportFormat, ExportSection, export_link
from analytics_graph.api.types.ranges import DateRangeInput, resolve
from analytics_graph.export.request import Kind
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
            raise ProAccountRequired(self.entity.account_id)
        days = resolve(range, info.context.today) if range else None
        loaders, video_id = info.context.loaders, self.entity.id
        found = await loaders.video_analytics.load((video_id, days))
        wanted = selected(info)
        hours = await loaders.video_hourly.load(video_id) if "hourly" in wanted else None
        as_of = await load_freshness(info) if "asOf" in wanted else UNSELECTED_FRESHNESS
        if found is None:
            span = (days.start, days.end) if days else (None, None)
            found = videos.nothing_yet(
                self.entity.published_at, self.entity.duration_seconds, *span
            )
        return VideoAnalytics.of(found, hours or [], as_of)

    @field
    async def export_link(
        self,
        info: Info,
        format: ExportFormat,
        range: DateRangeInput | None = strawberry.UNSET,
        section: ExportSection | None = strawberry.UNSET,
    ) -> str:
        """An absolute URL that downloads the video's analytics (totals, daily and
        first-48-hours series, traffic sources, search terms, retention) without a bearer
        header: its token allows this one file only and expires in 5 minutes. Without a
        range: the video's whole life. `section` does not apply to videos (an error when
        given). An error unless the account is Pro."""
        owner = await info.context.loaders.account.load(self.entity.account_id)
        if owner is None:  # the entities projection holds every video's account
            raise LookupError(f"the account of video {self.id} is missing")
        return export_link(info, Kind.VIDEO, self.entity.id, owner, format, range, section)


@strawberry.type
class RetentionPoint:
    second: int
    ratio: float = strawberry.field(description="Share of views still watching at this second.")


RETENTION = Served(RetentionPoint, videos.RetentionPoint)


@strawberry.type
class VideoDay:
    date: date
    views: int
    play_time_seconds: float
    likes: int
    comments: int
    shares: int
    new_followers: int


@strawberry.type
class VideoHour:
    hour: datetime = strawberry.field(description="The start of a UTC clock hour.")
    views: int


VIDEO_DAY = Served(VideoDay, videos.VideoDay)
VIDEO_HOUR = Served(VideoHour, videos.VideoHour)


def search_queries(root: VideoAnalytics, info: Info, first: int | None = 10) -> list[Share]:
    size = page_size(first, 10, info.context.services.limits.max_page_size)
    return root.all_search_queries[:size]


@strawberry.type
class VideoAnalytics:
    """Built by ``Video.analytics`` in one go (``hourly`` read only when selected)."""

    views: int = strawberry.field(description="Views in the range (every view event counts).")
    likes: int = strawberry.field(description="Likes minus unlikes in the range.")
    comments: int
    shares: int
    favorites: int
    total_play_time_seconds: float = strawberry.field(
        description="Sum of watched seconds as sent (loops count)."
    )
    average_watch_time_seconds: float = strawberry.field(
        description="Play time / views; 0 without views."
    )
    watched_full_video_ratio: float = strawberry.field(
        description="Completed views / views; 0 without views."
    )
    new_followers: int = strawberry.field(
        description="Follows in the range through this video (viaVideoId) that made the user a"
        "\nfollower."
    )
    reached_audience: int = strawberry.field(
        description="Distinct viewers with at least one view in the range (the whole life without"
        "\none), counted exactly (not a sketch)."
    )
    engagement_rate: float = strawberry.field(
        description="(likes + comments + shares) / views in the range; 0 without views."
    )
    traffic_sources: list[Share] = strawberry.field(
        description="Views in the range by traffic source, largest first; ratio = count / views."
    )
    all_search_queries: strawberry.Private[list[Share]]
    search_queries: list[Share] = strawberry.field(
        resolver=search_queries,
        description="The most frequent search terms of the range's views (`first` at most 100);"
        "\nratio = count / views that carry a search term.",
    )
    retention: list[RetentionPoint] = strawberry.field(
        description="Share of the range's views still watching at each second, 0 .. ceil(length)."
    )
    daily: list[VideoDay] = strawberry.field(
        description="One entry per day of the range (of the whole life: publication day to the"
        " last\nday with engagement), ascending, zero-filled."
    )
    hourly: list[VideoHour] = strawberry.field(
        description="Views in the first 48 UTC clock hours, starting at the hour of publication."
    )
    as_of: Freshness = strawberry.field(
        description="The last log position these numbers include, and when it was recorded."
    )

    @classmethod
    def of(
        cls, found: videos.VideoAnalytics, hours: list[videos.VideoHour], as_of: Freshness
    ) -> VideoAnalytics:
        totals = found.totals
        return cls(
            views=totals.views,
            likes=totals.likes,
            comments=totals.comments,
            shares=totals.shares,
            favorites=totals.favorites,
            total_play_time_seconds=totals.play_time_seconds,
            average_watch_time_seconds=found.average_watch_time_seconds,
            watched_full_video_ratio=found.watched_full_video_ratio,
            new_followers=totals.new_followers,
            reached_audience=found.reached_audience,
            engagement_rate=found.engagement_rate,
            traffic_sources=SHARE.many(found.traffic_sources),
            all_search_queries=SHARE.many(found.search_queries),
            retention=RETENTION.many(found.retention),
            daily=VIDEO_DAY.many(found.daily),
            hourly=VIDEO_HOUR.many(hours),
            as_of=as_of,
        )
