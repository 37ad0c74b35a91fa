"""Deliveries: one message to one endpoint, and what became of its attempts.

A delivery is ``pending`` until an attempt succeeds (``delivered``); the head
delivery of an endpoint that failed for the whole failure window is ``failed``
(its endpoint is disabled then). Deliveries of an endpoint go out one at a time
in ``delivery_id`` order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg

MAX_ERROR = 500
COLUMNS = """delivery_id, webhook_id, message_id, topic, position, body, status, attempts,
    response_status, last_error, created_at, next_attempt_at, delivered_at"""


class Status(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery as stored; ``body`` is the exact text that is signed and sent."""

    id: int
    webhook_id: UUID
    message_id: str
    topic: str
    position: int
    body: str
    status: Status
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(
        id=row["delivery_id"],
        webhook_id=row["webhook_id"],
        message_id=row["message_id"],
        topic=row["topic"],
        position=row["position"],
        body=row["body"],
        status=Status(row["status"]),
        attempts=row["attempts"],
        response_status=row["response_status"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        delivered_at=row["delivered_at"],
    )


async def page(
    pool: asyncpg.Pool, webhook_id: UUID, first: int, before: int | None
) -> list[Delivery]:
    """Up to ``first`` deliveries of the endpoint, newest first, older than ``before``."""
    rows = await pool.fetch(
        f"""SELECT {COLUMNS} FROM webhook_deliveries
        WHERE webhook_id = $1 AND ($2::bigint IS NULL OR delivery_id < $2)
        ORDER BY delivery_id DESC LIMIT $3""",
        webhook_id,
        before,
        first,
    )
    return [delivery(r) for r in rows]


async def get(pool: asyncpg.Pool, delivery_id: int) -> Delivery | None:
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM webhook_deliveries WHERE delivery_id = $1", delivery_id
    )
    return None if row is None else delivery(row)


async def redeliver(pool: asyncpg.Pool, delivery_id: int) -> Delivery | None:
    """Queues the delivery again (same message id and body; receivers deduplicate by
    the id), due now, and enables its endpoint again if it was disabled."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"""UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now()
            WHERE delivery_id = $1 RETURNING {COLUMNS}""",
            delivery_id,
        )
        if row is None:
            return None
        await conn.execute(
            """UPDATE webhook_endpoints SET enabled = true, disabled_reason = NULL,
            failing_since = NULL WHERE webhook_id = $1""",
            row["webhook_id"],
        )
    return delivery(row)
