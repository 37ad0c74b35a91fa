"""Accounts, and the page of an account's videos."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from analytics_graph.api.context import Info
from analytics_graph.api.engine.fields import field
from analytics_graph.api.errors import BadUserInput, ProAccountRequired, page_size
from analytics_graph.api.types.enums import AccountType
from analytics_graph.api.types.export import ExportFormat, ExportSection, export_link
from analytics_graph.api.types.ranges import DateRangeInput, resolve
from analytics_graph.export.request import Kind
from projections.entities.queries import AccountEntity, account_videos, encode_cursor

if TYPE_CHECKING:
    from analytics_graph.api.types.analytics import AccountAnalytics
    from analytics_graph.api.types.comparison import VideoComparison
    from analytics_graph.api.types.video import Video


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class VideoEdge:
    cursor: str
    node: Annotated[Video, strawberry.lazy("analytics_graph.api.types.video")]


@strawberry.type(description="A page of an account's videos, newest first.")
class VideoConnection:
    edges: list[VideoEdge]
    page_info: PageInfo


@strawberry.type
class Account:
    entity: strawberry.Private[AccountEntity]
    id: strawberry.ID
    handle: str
    display_name: str
    account_type: AccountType
    is_pro: bool = strawberry.field(description="CREATOR and BUSINESS accounts are Pro.")

    @classmethod
    def of(cls, entity: AccountEntity) -> Account:
        return cls(
            entity=entity,
            id=strawberry.ID(str(entity.id)),
            handle=entity.handle,
            display_name=entity.display_name,
            account_type=AccountType(entity.account_type),
            is_pro=entity.is_pro,
        )

    @property
    def uuid(self) -> UUID:
        return self.entity.id

    @field
    async def follower_count(self, info: Info) -> int:
        """Followers now."""
        return await info.context.loaders.follower_count.load(self.uuid) or 0

    @field
    async def videos(
        self, info: Info, first: int | None = 20, after: str | None = strawberry.UNSET
    ) -> VideoConnection:
        """The account's videos (not deleted ones), newest first; `first` at most 100."""
        from analytics_graph.api.types.video import Video

        size = page_size(first, 20, info.context.services.limits.max_page_size)
        try:
            page = await info.context.session.run(
                account_videos, self.uuid, first=size, after=after or None
            )
        except ValueError:
            raise BadUserInput("after", "not a cursor of this list") from None
        edges = [VideoEdge(cursor=encode_cursor(v), node=Video.of(v)) for v in page.videos]
        return VideoConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )

    @field
    async def analytics(
        self, info: Info, range: DateRangeInput
    ) -> Annotated[AccountAnalytics, strawberry.lazy("analytics_graph.api.types.analytics")]:
        """The account's analytics over a range; an error unless the account is Pro."""
        from analytics_graph.api.types.analytics import account_analytics

        if not self.entity.is_pro:
            raise ProAccountRequired(self.uuid)
        return await account_analytics(info, self.uuid, resolve(range, info.context.today))

    @field
    def export_link(
        self,
        info: Info,
        format: ExportFormat,
        range: DateRangeInput | None = strawberry.UNSET,
        section: ExportSection | None = strawberry.UNSET,
    ) -> str:
        """An absolute URL that downloads the account's analytics without a bearer header
        (a plain link, a browser download): its token allows this one file only and
        expires in 5 minutes. The range defaults to the last 28 days. A CSV file holds
        one section (`section`, default OVERVIEW); an XLSX workbook holds all three (no
        `section`). An error unless the account is Pro."""
        return export_link(info, Kind.ACCOUNT, self.uuid, self.entity, format, range, section)

    @field
    async def video_comparison(
        self, info: Info, video_ids: list[strawberry.ID], days: int | None = 28
    ) -> Annotated[VideoComparison, strawberry.lazy("analytics_graph.api.types.comparison")]:
        """The account's videos (at most 10) compared by age: cumulative views on each of
        their first `days` days (at most 365), against the account's other videos. An
        error unless the account is Pro, or when an id is not one of its videos."""
        from analytics_graph.api.types.comparison import video_comparison

        if not self.entity.is_pro:
            raise ProAccountRequired(self.uuid)
        return await video_comparison(info, self.uuid, video_ids, 28 if days is None else days)
