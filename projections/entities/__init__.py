"""Accounts and videos as entities: handle, display name, account type, Pro or not;
caption, length, publication time, deleted or not.

Aggregate events are rare, so this projection folds them in Python, in log order,
one statement per event.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from analytics_graph.domain.aggregates import Account, Video
from analytics_graph.projection import Batch, Changes, Projection
from analytics_graph.projection.aggregates import aggregate_events, topic
from analytics_graph.projection.tables import qualify
from analytics_graph.types import Connection

NAME = "entities"

DDL = """
CREATE TABLE {schema}.accounts (
    account_id    uuid        PRIMARY KEY,
    handle        text        NOT NULL,
    display_name  text        NOT NULL,
    account_type  text        NOT NULL,
    is_pro        boolean     GENERATED ALWAYS AS (account_type <> 'PERSONAL') STORED,
    registered_at timestamptz NOT NULL
);
CREATE TABLE {schema}.videos (
    video_id         uuid        PRIMARY KEY,
    account_id       uuid        NOT NULL,
    caption          text        NOT NULL,
    duration_seconds float8      NOT NULL,
    published_at     timestamptz NOT NULL,
    deleted          boolean     NOT NULL DEFAULT false,
    deleted_at       timestamptz
);
CREATE INDEX videos_newest_first ON {schema}.videos (account_id, published_at DESC, video_id DESC);
"""

REGISTERED = """
INSERT INTO {schema}.accounts (account_id, handle, display_name, account_type, registered_at)
VALUES ($1, $2, $3, 'PERSONAL', $4) ON CONFLICT (account_id) DO NOTHING
"""
SWITCHED = "UPDATE {schema}.accounts SET account_type = $2 WHERE account_id = $1"
PUBLISHED = """
INSERT INTO {schema}.videos (video_id, account_id, caption, duration_seconds, published_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (video_id) DO NOTHING
"""
DELETED = """
UPDATE {schema}.videos SET deleted = true, deleted_at = $2 WHERE video_id = $1
RETURNING account_id
"""


REGISTERED_TOPIC = topic(Account, "Registered")
TO_PRO_TOPIC = topic(Account, "SwitchedToProAccount")
TO_PERSONAL_TOPIC = topic(Account, "SwitchedToPersonalAccount")
PUBLISHED_TOPIC = topic(Video, "Published")
DELETED_TOPIC = topic(Video, "Deleted")
HANDLES = frozenset(
    (REGISTERED_TOPIC, TO_PRO_TOPIC, TO_PERSONAL_TOPIC, PUBLISHED_TOPIC, DELETED_TOPIC)
)


async def _apply_account(conn: Connection, schema: str, kind: str, event: Any) -> None:
    if kind == REGISTERED_TOPIC:
        await conn.execute(
            qualify(REGISTERED, schema),
            event.originator_id,
            event.handle,
            event.display_name,
            event.timestamp,
        )
    else:
        account_type = event.account_type if kind == TO_PRO_TOPIC else "PERSONAL"
        await conn.execute(qualify(SWITCHED, schema), event.originator_id, account_type)


async def _apply_video(conn: Connection, schema: str, kind: str, event: Any) -> UUID:
    """Returns the video's account."""
    if kind == PUBLISHED_TOPIC:
        await conn.execute(
            qualify(PUBLISHED, schema),
            event.originator_id,
            event.account_id,
            event.caption,
            event.duration_seconds,
            event.published_at,
        )
        return UUID(str(event.account_id))
    owner = await conn.fetchval(qualify(DELETED, schema), event.originator_id, event.timestamp)
    return UUID(str(owner))


async def apply(conn: Connection, batch: Batch) -> Changes:
    """Applies the batch's account and video events in log order."""
    changes = Changes()
    for kind, event in await aggregate_events(conn, batch, HANDLES):
        if kind in (PUBLISHED_TOPIC, DELETED_TOPIC):
            owner = await _apply_video(conn, batch.schema, kind, event)
            changes.add(accounts=[owner], videos=[event.originator_id])
        else:
            await _apply_account(conn, batch.schema, kind, event)
            changes.add(accounts=[event.originator_id])
    return changes


PROJECTION = Projection(
    name=NAME,
    version=1,
    handles=HANDLES,
    ddl=DDL,
    apply=apply,
    description="accounts and videos: handle, names, type, Pro, caption, length, publication",
)
