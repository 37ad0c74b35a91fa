"""Comparing an account's videos aligned by age (``Account.videoComparison``)."""

from __future__ import annotations

from uuid import UUID

import strawberry

from analytics_graph.api.context import Info
from analytics_graph.api.engine.fields import field
from analytics_graph.api.errors import BadUserInput
from analytics_graph.api.types.video import Video
from projections.engagement import comparison

MAX_VIDEOS = 10
MAX_DAYS = 365


@strawberry.type(description="One compared video, its views by age in days.")
class ComparedVideo:
    video: Video
    cumulative_views: list[int] = strawberry.field(
        description="[k]: views from publication to the end of UTC day k after the publication"
        "\nday (day 0 is the publication day), k = 0 .. days-1, stopping at today."
    )
    percentile: list[float | None] = strawberry.field(
        description="[k]: the share (0 .. 1) of the account's other non-deleted videos whose day"
        " k\nhas ended whose cumulative views at day k are below this video's; null with fewer"
        "\nthan 3 such videos."
    )

    @field
    async def hourly(self, info: Info) -> list[int]:
        """Cumulative views at the end of each of the first 48 UTC clock hours, starting at
        the hour of publication."""
        found = await info.context.loaders.video_hourly.load(self.video.entity.id)
        return _cumulative([h.views for h in found or []])


@strawberry.type(description="Videos of one account compared by age in days.")
class VideoComparison:
    videos: list[ComparedVideo] = strawberry.field(description="In the order asked.")
    median: list[float | None] = strawberry.field(
        description="[k]: the median cumulative views at day k of the account's non-deleted"
        " videos\nwhose day k has ended; null when none has."
    )


def _ids(video_ids: list[strawberry.ID]) -> list[UUID]:
    if not 1 <= len(video_ids) <= MAX_VIDEOS:
        raise BadUserInput("videoIds", f"give 1 to {MAX_VIDEOS} ids, not {len(video_ids)}")
    out: list[UUID] = []
    for given in video_ids:
        try:
            parsed = UUID(str(given))
        except ValueError:
            raise BadUserInput("videoIds", f"no video {given}") from None
        if parsed not in out:
            out.append(parsed)
    return out


def _cumulative(views: list[int]) -> list[int]:
    out, running = [], 0
    for n in views:
        running += n
        out.append(running)
    return out


async def video_comparison(
    info: Info, account_id: UUID, video_ids: list[strawberry.ID], days: int
) -> VideoComparison:
    """Compares the account's videos (an unknown id and another account's answer alike)."""
    if not 1 <= days <= MAX_DAYS:
        raise BadUserInput("days", f"must be between 1 and {MAX_DAYS}, not {days}")
    ids, session = _ids(video_ids), info.context.session
    try:
        found = await session.run(
            comparison.video_comparison, account_id, ids, days, info.context.today
        )
    except LookupError as missing:
        raise BadUserInput("videoIds", f"no video {missing.args[0]}") from None
    return VideoComparison(
        videos=[
            ComparedVideo(
                video=Video.of(c.video),
                cumulative_views=c.cumulative_views,
                percentile=c.percentile,
            )
            for c in found.videos
        ],
        median=found.median,
    )
