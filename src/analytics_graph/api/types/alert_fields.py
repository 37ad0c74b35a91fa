"""Resolvers of the alert fields: the rules of an account, and alerts as they are raised."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated
from uuid import UUID

import strawberry

from analytics_graph.alerts import ALERT_RAISED, rules_of, set_rules
from analytics_graph.api import access
from analytics_graph.api.context import Info
from analytics_graph.api.errors import ClientError, ProAccountRequired
from analytics_graph.api.reads.livelog import follow_log
from analytics_graph.api.types.alerts import Alert, AlertRules, AlertRulesInput
from analytics_graph.api.types.problems import InvalidInput, NotFound
from analytics_graph.auth import Caller
from analytics_graph.errors import InvalidInputError
from projections.entities.queries import AccountEntity

SetAlertRulesResult = Annotated[
    AlertRules | NotFound | InvalidInput, strawberry.union("SetAlertRulesResult")
]


class AlertsNotFound(ClientError):
    code = "NOT_FOUND"


async def _account(info: Info, caller: Caller, id: object) -> AccountEntity | None:
    try:
        account_id = UUID(str(id))
    except ValueError:
        return None
    if not access.sees_account(caller, account_id):
        return None
    return await info.context.loaders.account.load(account_id)


async def set_alert_rules(
    info: Info, account_id: strawberry.ID, rules: AlertRulesInput
) -> SetAlertRulesResult:
    """Overrides some of an account's alert rules (creators: their own; admins: any);
    returns all of them."""
    caller = access.manager(info.context.caller)
    account = await _account(info, caller, account_id)
    if account is None:
        return NotFound.of(account_id)
    try:
        async with info.context.services.pool.acquire() as conn:
            stored = await set_rules(conn, account.id, rules.changes())
    except InvalidInputError as error:
        return InvalidInput(message=str(error), field=error.field)
    return AlertRules.of(stored)


async def alert_rules(info: Info, account_id: strawberry.ID) -> AlertRules | None:
    """An account's alert rules (the defaults unless overridden); null for an account
    that does not exist or the caller may not see."""
    caller = access.reader(info.context.caller)
    info.context.beyond_read_models = True
    account = await _account(info, caller, account_id)
    if account is None:
        return None
    async with info.context.services.pool.acquire() as conn:
        return AlertRules.of((await rules_of(conn, [account.id]))[account.id])


async def alerts(info: Info, account_id: strawberry.ID) -> AsyncGenerator[Alert, None]:
    """Each alert of a Pro account as it is raised (an AlertRaised event appended)."""
    caller = access.reader(info.context.caller)
    account = await _account(info, caller, account_id)
    if account is None:
        raise AlertsNotFound(f"{account_id} was not found")
    if not account.is_pro:
        raise ProAccountRequired(account.id)
    services = info.context.services
    start = await services.store.final_position()
    wanted = str(account.id)
    async for event in follow_log(services, start, [ALERT_RAISED]):
        if event.data.get("accountId") == wanted:
            yield Alert.from_event(event.position, event.data, event.recorded_at)
