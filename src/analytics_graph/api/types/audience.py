"""The Viewers section of an account's analytics, and how fresh the numbers are."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import strawberry

import projections
from analytics_graph.api.context import Info
from analytics_graph.api.engine import Served
from analytics_graph.api.types.ranges import Days
from analytics_graph.api.types.scalars import Position
from projections import freshness
from projections.account_viewers import queries as account_viewers


@strawberry.type(description="One day's viewers of the account's videos.")
class DailyViewers:
    date: date
    total: int = strawberry.field(description="Distinct viewers of the account's videos that day.")
    new: int = strawberry.field(
        description="Those of them who had not viewed any of the account's videos in the 365 days"
        "\nbefore that day."
    )


@strawberry.type(
    description="Distinct viewers of any of the account's videos in the range, counted exactly"
    "\n(not a sketch); videos deleted since included. Viewers are the `viewerId` of views."
)
class Viewers:
    total: int = strawberry.field(description="Distinct viewers in the range (exact).")
    new: int = strawberry.field(
        description="Those who had not viewed any of the account's videos in the 365 days before"
        "\ntheir first view in the range (exact)."
    )
    returning: int = strawberry.field(description="total - new.")
    daily: list[DailyViewers] = strawberry.field(
        description="One entry per day of the range, ascending, zero-filled."
    )


@strawberry.type(description="How fresh the numbers are.")
class Freshness:
    position: Position = strawberry.field(
        description="The last log position the numbers include (every event up to it); 0 when"
        "\nnone yet."
    )
    recorded_at: datetime | None = strawberry.field(
        description="When the event at that position (or the last one before it) was recorded;"
        "\nnull at position 0."
    )


VIEWERS = Served(Viewers, account_viewers.Viewers)
DAILY_VIEWERS = Served(DailyViewers, account_viewers.DailyViewers)
FRESHNESS = Served(Freshness, freshness.Freshness)
READ_MODELS = tuple(p.name for p in projections.ALL)
UNSELECTED_FRESHNESS = Freshness(position=Position(0), recorded_at=None)
"""A stand-in when ``asOf`` is not selected (never read, so never shown)."""


async def load_viewers(info: Info, account_id: UUID, days: Days) -> Viewers:
    found = await info.context.session.run(
        account_viewers.viewers, account_id, days.start, days.end
    )
    return VIEWERS.one(found)


async def load_freshness(info: Info) -> Freshness:
    """The freshness of every read model: what any number of an answer includes."""
    return FRESHNESS.one(await info.context.session.run(freshness.freshness, READ_MODELS))
