"""Aggregates (what a mutation just changed) as the read models' entities."""

from __future__ import annotations

from datetime import UTC

from analytics_graph.domain.aggregates import Account, Video
from projections.entities.queries import AccountEntity, VideoEntity


def account_entity(account: Account) -> AccountEntity:
    return AccountEntity(
        id=account.id,
        handle=account.handle,
        display_name=account.display_name,
        account_type=str(account.account_type),
        is_pro=account.is_pro,
        registered_at=account.created_on,
    )


def video_entity(video: Video) -> VideoEntity:
    published = video.published_at
    return VideoEntity(
        id=video.id,
        account_id=video.account_id,
        caption=video.caption,
        duration_seconds=video.duration_seconds,
        published_at=published if published.tzinfo else published.replace(tzinfo=UTC),
        deleted=video.deleted,
    )
