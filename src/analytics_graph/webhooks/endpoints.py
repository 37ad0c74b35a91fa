"""Webhook endpoints: where an account's events go, and for which topics.

Usage::

    endpoint, secret = await create(pool, policy, account_id, url, [Topic.METRICS_CHANGED])
    mine = await of_account(pool, account_id)
    await delete(pool, endpoint.id)

The secret is returned by :func:`create` only; nothing reads it back but the sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

import asyncpg

from analytics_graph.errors import InvalidInputError
from analytics_graph.types import Connection
from analytics_graph.webhooks.addresses import UnsafeUrl, UrlPolicy
from analytics_graph.webhooks.signing import new_secret

MAX_PER_ACCOUNT = 20
COLUMNS = "webhook_id, account_id, url, topics, enabled, disabled_reason, created_at"


class Topic(StrEnum):
    """What an endpoint hears about; the value is the body's ``type``."""

    METRICS_CHANGED = "metrics.changed"
    ALERT_RAISED = "alert.raised"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A webhook endpoint as its owner sees it (without the secret)."""

    id: UUID
    account_id: UUID
    url: str
    topics: tuple[Topic, ...]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


def _endpoint(row: asyncpg.Record) -> Endpoint:
    return Endpoint(
        id=row["webhook_id"],
        account_id=row["account_id"],
        url=row["url"],
        topics=tuple(Topic(t) for t in row["topics"]),
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
    )


async def create(
    pool: asyncpg.Pool,
    policy: UrlPolicy,
    account_id: UUID,
    url: str,
    topics: Sequence[Topic],
) -> tuple[Endpoint, str]:
    """A new enabled endpoint and its signing secret (``whsec_...``).

    Raises :class:`InvalidInputError` (``input.url``: not allowed by ``policy``,
    or does not resolve; ``input.topics``: none given; ``input.accountId``: the
    account has :data:`MAX_PER_ACCOUNT` endpoints already). Hears about changes
    after the log's current position only.
    """
    if not topics:
        raise InvalidInputError("input.topics", "name at least one topic")
    try:
        await policy.resolve(url)
    except UnsafeUrl as error:
        raise InvalidInputError("input.url", str(error)) from None
    secret = new_secret()
    async with pool.acquire() as conn, conn.transaction():
        # One account's endpoints are created one at a time, so the limit holds.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", str(account_id))
        count = await conn.fetchval(
            "SELECT count(*) FROM webhook_endpoints WHERE account_id = $1", account_id
        )
        if count >= MAX_PER_ACCOUNT:
            raise InvalidInputError(
                "input.accountId", f"an account has at most {MAX_PER_ACCOUNT} webhooks"
            )
        row = await conn.fetchrow(
            f"""
            INSERT INTO webhook_endpoints
                (webhook_id, account_id, url, topics, secret, created_position)
            VALUES ($1, $2, $3, $4, $5, (SELECT coalesce(max(position), 0) FROM events))
            RETURNING {COLUMNS}
            """,
            uuid4(),
            account_id,
            url,
            sorted({t.value for t in topics}),
            secret,
        )
    assert row is not None
    return _endpoint(row), secret


async def get(conn: Connection | asyncpg.Pool, webhook_id: UUID) -> Endpoint | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM webhook_endpoints WHERE webhook_id = $1", webhook_id
    )
    return None if row is None else _endpoint(row)


async def of_account(pool: asyncpg.Pool, account_id: UUID | None) -> list[Endpoint]:
    """The endpoints of ``account_id`` (of every account when ``None``), oldest first."""
    rows = await pool.fetch(
        f"""SELECT {COLUMNS} FROM webhook_endpoints
        WHERE $1::uuid IS NULL OR account_id = $1 ORDER BY created_at, webhook_id""",
        account_id,
    )
    return [_endpoint(r) for r in rows]


async def delete(pool: asyncpg.Pool, webhook_id: UUID) -> Endpoint | None:
    """Removes the endpoint and its deliveries; ``None`` when there was none."""
    row = await pool.fetchrow(
        f"DELETE FROM webhook_endpoints WHERE webhook_id = $1 RETURNING {COLUMNS}", webhook_id
    )
    return None if row is None else _endpoint(row)
