"""Reading accounts and videos (read model of the ``entities`` projection).

Every function takes any connection (pooled or not) and runs one statement.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from analytics_graph.projection import live_schema
from analytics_graph.projection.tables import qualify
from analytics_graph.types import Connection
from projections.readmodel import check_range

SCHEMA = live_schema("entities")


@dataclass(frozen=True, slots=True)
class AccountEntity:
    """An account as last changed by its events."""

    id: UUID
    handle: str
    display_name: str
    account_type: str
    """PERSONAL, CREATOR or BUSINESS."""
    is_pro: bool
    """True for CREATOR and BUSINESS accounts (the ones that may read analytics)."""
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class VideoEntity:
    """A video as published, and whether it was deleted since."""

    id: UUID
    account_id: UUID
    caption: str
    duration_seconds: float
    published_at: datetime
    deleted: bool


@dataclass(frozen=True, slots=True)
class VideoPage:
    """A page of an account's videos, newest first; pass ``end_cursor`` as ``after``
    to get the next page."""

    videos: list[VideoEntity]
    end_cursor: str | None
    has_next_page: bool


ACCOUNT_COLUMNS = "account_id, handle, display_name, account_type, is_pro, registered_at"
VIDEO_COLUMNS = "video_id, account_id, caption, duration_seconds, published_at, deleted"


def _account(r: asyncpg.Record) -> AccountEntity:
    return AccountEntity(*r.values())


def _video(r: asyncpg.Record) -> VideoEntity:
    return VideoEntity(*r.values())


def video_of(values: Sequence[object]) -> VideoEntity:
    """A :class:`VideoEntity` from the values of :data:`VIDEO_COLUMNS`, in order."""
    return VideoEntity(*values)  # type: ignore[arg-type]


# The account's videos published in a range, not deleted; the placeholders name the
# parameters (``$n``) of the statement it goes into.
POSTED_WHERE = """
    account_id = {account} AND NOT deleted
    AND published_at >= ({start}::date)::timestamp AT TIME ZONE 'UTC'
    AND published_at < ({end}::date + 1)::timestamp AT TIME ZONE 'UTC'
"""


async def accounts(conn: Connection, ids: Sequence[UUID]) -> dict[UUID, AccountEntity]:
    """The accounts among ``ids`` that exist, by id."""
    sql = f"SELECT {ACCOUNT_COLUMNS} FROM {{schema}}.accounts WHERE account_id = ANY($1::uuid[])"
    rows = await conn.fetch(qualify(sql, SCHEMA), list(ids))
    return {r["account_id"]: _account(r) for r in rows}


async def videos(conn: Connection, ids: Sequence[UUID]) -> dict[UUID, VideoEntity]:
    """The videos among ``ids`` that were ever published (deleted ones included), by id."""
    sql = f"SELECT {VIDEO_COLUMNS} FROM {{schema}}.videos WHERE video_id = ANY($1::uuid[])"
    rows = await conn.fetch(qualify(sql, SCHEMA), list(ids))
    return {r["video_id"]: _video(r) for r in rows}


def encode_cursor(video: VideoEntity) -> str:
    """The opaque paging cursor that points just after ``video``."""
    raw = f"{video.published_at.isoformat()}|{video.id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Raises ``ValueError`` on a cursor this module did not make."""
    try:
        published, _, video_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(published), UUID(video_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a video cursor: {cursor!r}") from exc


async def account_videos(
    conn: Connection, account_id: UUID, *, first: int = 20, after: str | None = None
) -> VideoPage:
    """The account's videos that are not deleted, newest first (ties: larger id
    first), ``first`` at most, after the cursor ``after``. Raises ``ValueError``
    on a bad cursor or a negative ``first``."""
    if first < 0:
        raise ValueError("first must not be negative")
    published, video_id = decode_cursor(after) if after else (None, None)
    sql = f"""
        SELECT {VIDEO_COLUMNS} FROM {{schema}}.videos
        WHERE account_id = $1 AND NOT deleted
          AND ($2::timestamptz IS NULL OR (published_at, video_id) < ($2, $3::uuid))
        ORDER BY published_at DESC, video_id DESC LIMIT $4
    """
    rows = await conn.fetch(qualify(sql, SCHEMA), account_id, published, video_id, first + 1)
    page = [_video(r) for r in rows[:first]]
    return VideoPage(page, encode_cursor(page[-1]) if page else None, len(rows) > first)


async def posted_videos(
    conn: Connection, account_id: UUID, start: date, end: date
) -> list[VideoEntity]:
    """The account's non-deleted videos published (UTC date) in ``start .. end``,
    newest first (ties: larger id first)."""
    check_range(start, end)
    where = POSTED_WHERE.format(account="$1", start="$2", end="$3")
    sql = f"""
        SELECT {VIDEO_COLUMNS} FROM {{schema}}.videos WHERE {where}
        ORDER BY published_at DESC, video_id DESC
    """
    return [_video(r) for r in await conn.fetch(qualify(sql, SCHEMA), account_id, start, end)]
