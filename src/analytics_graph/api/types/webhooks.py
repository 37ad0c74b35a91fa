"""Webhooks as their owners see them: endpoints and deliveries (docs/webhooks.md)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from analytics_graph.api.types.scalars import Position
from analytics_graph.webhooks import Delivery, Endpoint, Topic


@strawberry.enum(description="What a webhook hears about.")
class WebhookTopic(Enum):
    METRICS_CHANGED = "METRICS_CHANGED"
    ALERT_RAISED = "ALERT_RAISED"

    @property
    def topic(self) -> Topic:
        return Topic[self.value]


@strawberry.enum
class DeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@strawberry.input
class CreateWebhookInput:
    url: str = strawberry.field(
        description="Where to POST: https, to a public address (refused otherwise)."
    )
    topics: list[WebhookTopic]
    account_id: strawberry.ID


@strawberry.type(description="An endpoint receiving an account's events, signed per Standard"
                 " Webhooks.")  # fmt: skip
class Webhook:
    id: strawberry.ID
    url: str
    topics: list[WebhookTopic]
    account_id: strawberry.ID
    enabled: bool
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled (it failed for too long); null while enabled."
    )
    created_at: datetime

    @classmethod
    def of(cls, endpoint: Endpoint) -> Webhook:
        return cls(
            id=strawberry.ID(str(endpoint.id)),
            url=endpoint.url,
            topics=[WebhookTopic[t.name] for t in endpoint.topics],
            account_id=strawberry.ID(str(endpoint.account_id)),
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            created_at=endpoint.created_at,
        )


@strawberry.type(description="A new webhook and its signing secret, shown this once.")
class WebhookCreated:
    webhook: Webhook
    secret: str = strawberry.field(
        description="`whsec_...`: verify each request's `webhook-signature` with it."
    )


@strawberry.type(description="One message to one webhook and what became of its attempts.")
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID
    message_id: str = strawberry.field(description="The `webhook-id` header (same on retries).")
    topic: WebhookTopic
    position: Position = strawberry.field(description="The log position it was made at.")
    payload: str = strawberry.field(description="The JSON body, exactly as sent.")
    status: DeliveryStatus
    attempts: int
    response_code: int | None = strawberry.field(
        description="The HTTP status of the last attempt (null: no response)."
    )
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next (null unless pending)."
    )
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(delivery.id)),
            webhook_id=strawberry.ID(str(delivery.webhook_id)),
            message_id=delivery.message_id,
            topic=WebhookTopic[Topic(delivery.topic).name],
            position=Position(delivery.position),
            payload=delivery.body,
            status=DeliveryStatus[delivery.status.name],
            attempts=delivery.attempts,
            response_code=delivery.response_status,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
        )


@strawberry.type(description="A page of a webhook's deliveries, newest first.")
class WebhookDeliveryConnection:
    deliveries: list[WebhookDelivery]
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")
    has_next_page: bool
