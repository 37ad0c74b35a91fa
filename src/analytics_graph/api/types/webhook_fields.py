"""Resolvers of the webhook fields (the root types name them; docs/webhooks.md).

Creators manage their own account's webhooks, admins any; auditors may read them.
A webhook or delivery of an account the caller may not see answers like one that
does not exist.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from analytics_graph.api import access
from analytics_graph.api.context import Info
from analytics_graph.api.errors import BadUserInput, page_size
from analytics_graph.api.types.problems import InvalidInput, NotFound
from analytics_graph.api.types.webhooks import (
    CreateWebhookInput,
    Webhook,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryConnection,
)
from analytics_graph.auth import Caller
from analytics_graph.errors import InvalidInputError
from analytics_graph.webhooks import Endpoint, deliveries, endpoints

CreateWebhookResult = Annotated[
    WebhookCreated | NotFound | InvalidInput, strawberry.union("CreateWebhookResult")
]
DeleteWebhookResult = Annotated[Webhook | NotFound, strawberry.union("DeleteWebhookResult")]
RedeliverResult = Annotated[WebhookDelivery | NotFound, strawberry.union("RedeliverResult")]
MAX_DELIVERY_PAGE = 100


def as_uuid(id: object) -> UUID | None:
    try:
        return UUID(str(id))
    except ValueError:
        return None


async def _visible_account(info: Info, caller: Caller, id: object) -> UUID | None:
    account_id = as_uuid(id)
    if account_id is None or not access.sees_account(caller, account_id):
        return None
    entity = await info.context.loaders.account.load(account_id)
    return None if entity is None else account_id


async def _visible_endpoint(info: Info, caller: Caller, id: object) -> Endpoint | None:
    webhook_id = as_uuid(id)
    if webhook_id is None:
        return None
    endpoint = await endpoints.get(info.context.services.pool, webhook_id)
    if endpoint is None or not access.sees_account(caller, endpoint.account_id):
        return None
    return endpoint


def _delivery_id(id: object) -> int | None:
    text = str(id)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


async def create_webhook(info: Info, input: CreateWebhookInput) -> CreateWebhookResult:
    """Creates a webhook for an account (creators: their own; admins: any). The answer
    holds the signing secret, shown this once."""
    caller = access.manager(info.context.caller)
    account = await _visible_account(info, caller, input.account_id)
    if account is None:
        return NotFound.of(input.account_id)
    services = info.context.services
    try:
        endpoint, secret = await endpoints.create(
            services.pool,
            services.webhook_policy,
            account,
            input.url,
            [t.topic for t in input.topics],
        )
    except InvalidInputError as error:
        return InvalidInput(message=str(error), field=error.field)
    return WebhookCreated(webhook=Webhook.of(endpoint), secret=secret)


async def delete_webhook(info: Info, webhook_id: strawberry.ID) -> DeleteWebhookResult:
    """Deletes a webhook and its deliveries; nothing more is sent to it."""
    caller = access.manager(info.context.caller)
    endpoint = await _visible_endpoint(info, caller, webhook_id)
    if endpoint is None:
        return NotFound.of(webhook_id)
    deleted = await endpoints.delete(info.context.services.pool, endpoint.id)
    return Webhook.of(deleted) if deleted is not None else NotFound.of(webhook_id)


async def redeliver(info: Info, delivery_id: strawberry.ID) -> RedeliverResult:
    """Sends a delivery again (same `webhook-id`), next in its webhook's order; enables
    the webhook again if it was disabled."""
    caller = access.manager(info.context.caller)
    pool = info.context.services.pool
    number = _delivery_id(delivery_id)
    found = None if number is None else await deliveries.get(pool, number)
    if found is None or await _visible_endpoint(info, caller, found.webhook_id) is None:
        return NotFound.of(delivery_id)
    queued = await deliveries.redeliver(pool, found.id)
    return WebhookDelivery.of(queued) if queued is not None else NotFound.of(delivery_id)


async def webhooks(
    info: Info, account_id: strawberry.ID | None = strawberry.UNSET
) -> list[Webhook]:
    """The webhooks of an account (creators: their own, the default; admins and
    auditors: any, or every account's when no id is given)."""
    caller = access.reader(info.context.caller)
    info.context.beyond_read_models = True  # the read models' checkpoints do not describe it
    wanted = as_uuid(account_id) if account_id else caller.account_id
    if wanted is not None and not access.sees_account(caller, wanted):
        return []
    if account_id and wanted is None:
        return []  # not an id
    found = await endpoints.of_account(info.context.services.pool, wanted)
    return [Webhook.of(e) for e in found]


async def webhook_deliveries(
    info: Info,
    webhook_id: strawberry.ID,
    first: int | None = 20,
    after: str | None = strawberry.UNSET,
) -> WebhookDeliveryConnection | None:
    """A webhook's deliveries, newest first: up to `first` (at most 100) after the
    cursor `after`; null for a webhook that does not exist or the caller may not see."""
    caller = access.reader(info.context.caller)
    info.context.beyond_read_models = True
    size = page_size(first, 20, MAX_DELIVERY_PAGE)
    before = None
    if after:
        before = _delivery_id(after)
        if before is None:
            raise BadUserInput("after", "not a cursor of this list")
    endpoint = await _visible_endpoint(info, caller, webhook_id)
    if endpoint is None:
        return None
    found = await deliveries.page(info.context.services.pool, endpoint.id, size + 1, before)
    page = [WebhookDelivery.of(d) for d in found[:size]]
    return WebhookDeliveryConnection(
        deliveries=page,
        end_cursor=page[-1].id if page else None,
        has_next_page=len(found) > size,
    )
