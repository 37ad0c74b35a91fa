"""The bodies of webhook messages (JSON, as Standard Webhooks suggests)::

    {"type": "metrics.changed", "timestamp": "2026-12-06T21:00:00.123456+00:00",
     "data": {"accountId": ..., "position": ..., "last28Days": {"videoViews": n, ...}}}
    {"type": "alert.raised", "timestamp": ..., "data": {<the AlertRaised event's data>}}

``last28Days`` holds the totals of ``analytics(range: {preset: LAST_28_DAYS})
.overview`` (the 28 UTC days ending on the timestamp's day), read through the read
models' own query functions in the dispatcher's snapshot.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import orjson

from analytics_graph.types import Connection
from analytics_graph.webhooks.endpoints import Topic
from projections.engagement.accounts import overview
from projections.followers.queries import follower_growth

LAST_DAYS = 28


def encode(topic: Topic, timestamp: datetime, data: dict[str, Any]) -> str:
    """The body text (sent and signed as is)."""
    body = {"type": topic.value, "timestamp": timestamp.isoformat(), "data": data}
    return orjson.dumps(body).decode()


async def last_28_days(conn: Connection, account_id: UUID, today: datetime) -> dict[str, int]:
    """The account's Overview totals over the 28 UTC days ending on ``today``'s day."""
    end = today.date()
    start = end - timedelta(days=LAST_DAYS - 1)
    engagement = await overview(conn, account_id, start, end)
    followers = await follower_growth(conn, account_id, start, end)
    return {
        "videoViews": engagement.video_views.total,
        "profileViews": engagement.profile_views.total,
        "likes": engagement.likes.total,
        "comments": engagement.comments.total,
        "shares": engagement.shares.total,
        "netFollowers": followers.net_followers.total,
    }


async def metrics_changed(conn: Connection, account_id: UUID, position: int, now: datetime) -> str:
    """The ``metrics.changed`` body of an account at ``position`` (where the read
    models read through ``conn`` stand)."""
    totals = await last_28_days(conn, account_id, now)
    data = {"accountId": str(account_id), "position": position, "last28Days": totals}
    return encode(Topic.METRICS_CHANGED, now, data)
