"""The root Mutation type: the use cases of the eventsourcing application, and ingest.

Expected failures are members of each result union. A successful change to an
account or video returns once the read models include it, so the caller's next
query sees it (read your writes).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from analytics_graph.api import access
from analytics_graph.api.context import Info
from analytics_graph.api.engine.fields import mutation
from analytics_graph.api.queries import as_uuid
from analytics_graph.api.reads.your_writes import read_your_writes
from analytics_graph.api.types.account import Account
from analytics_graph.api.types.alert_fields import set_alert_rules
from analytics_graph.api.types.converters import account_entity, video_entity
from analytics_graph.api.types.enums import AccountType
from analytics_graph.api.types.ingest import record
from analytics_graph.api.types.inputs import (
    EngagementEventInput,
    PublishVideoInput,
    RegisterAccountInput,
)
from analytics_graph.api.types.problems import (
    HandleTaken,
    IngestRejected,
    IngestResult,
    InvalidInput,
    NotFound,
    NotProAccount,
    VideoDeleted,
)
from analytics_graph.api.types.video import Video
from analytics_graph.api.types.webhook_fields import create_webhook, delete_webhook, redeliver
from analytics_graph.auth import Caller
from analytics_graph.errors import (
    HandleTakenError,
    InvalidInputError,
    NotFoundError,
    NotProAccountError,
    VideoDeletedError,
)

RegisterAccountResult = Annotated[
    Account | HandleTaken | InvalidInput, strawberry.union("RegisterAccountResult")
]
SwitchToProAccountResult = Annotated[
    Account | NotFound | InvalidInput, strawberry.union("SwitchToProAccountResult")
]
SwitchToPersonalAccountResult = Annotated[
    Account | NotFound | NotProAccount, strawberry.union("SwitchToPersonalAccountResult")
]
PublishVideoResult = Annotated[
    Video | NotFound | InvalidInput, strawberry.union("PublishVideoResult")
]
DeleteVideoResult = Annotated[
    Video | NotFound | VideoDeleted, strawberry.union("DeleteVideoResult")
]
RecordEngagementResult = Annotated[
    IngestResult | IngestRejected, strawberry.union("RecordEngagementResult")
]


def _manages(caller: Caller, account_id: object) -> bool:
    uuid = as_uuid(account_id)
    return uuid is not None and access.sees_account(caller, uuid)


def _invalid(error: InvalidInputError) -> InvalidInput:
    return InvalidInput(message=str(error), field=error.field)


@strawberry.type
class Mutation:
    @mutation
    async def register_account(
        self, info: Info, input: RegisterAccountInput
    ) -> RegisterAccountResult:
        """Registers a PERSONAL account (admins)."""
        access.admin(info.context.caller)
        try:
            account = await info.context.services.commands.register_account(
                input.handle, input.display_name
            )
        except HandleTakenError as error:
            return HandleTaken(message=str(error), handle=error.handle)
        except InvalidInputError as error:
            return _invalid(error)
        await read_your_writes(info.context)
        return Account.of(account_entity(account))

    @mutation
    async def switch_to_pro_account(
        self, info: Info, account_id: strawberry.ID, type: AccountType
    ) -> SwitchToProAccountResult:
        """Makes an account CREATOR or BUSINESS (Pro)."""
        caller = access.manager(info.context.caller)
        if not _manages(caller, account_id):
            return NotFound.of(account_id)
        commands = info.context.services.commands
        try:
            account = await commands.switch_to_pro(account_id, type.value)
        except NotFoundError:
            return NotFound.of(account_id)
        except InvalidInputError as error:
            return _invalid(error)
        await read_your_writes(info.context)
        return Account.of(account_entity(account))

    @mutation
    async def switch_to_personal_account(
        self, info: Info, account_id: strawberry.ID
    ) -> SwitchToPersonalAccountResult:
        """Makes a Pro account PERSONAL again."""
        caller = access.manager(info.context.caller)
        if not _manages(caller, account_id):
            return NotFound.of(account_id)
        try:
            account = await info.context.services.commands.switch_to_personal(account_id)
        except NotFoundError:
            return NotFound.of(account_id)
        except NotProAccountError as error:
            return NotProAccount(message=str(error), account_id=account_id)
        await read_your_writes(info.context)
        return Account.of(account_entity(account))

    @mutation
    async def publish_video(self, info: Info, input: PublishVideoInput) -> PublishVideoResult:
        """Publishes a video of an account (now, or at a past publishedAt)."""
        caller = access.manager(info.context.caller)
        if not _manages(caller, input.account_id):
            return NotFound.of(input.account_id)
        try:
            video = await info.context.services.commands.publish_video(
                input.account_id, input.caption, input.duration_seconds, input.published_at or None
            )
        except NotFoundError:
            return NotFound.of(input.account_id)
        except InvalidInputError as error:
            return _invalid(error)
        await read_your_writes(info.context)
        return Video.of(video_entity(video))

    @mutation
    async def delete_video(self, info: Info, video_id: strawberry.ID) -> DeleteVideoResult:
        """Deletes a video: it takes no more engagement; its past engagement still counts."""
        caller = access.manager(info.context.caller)
        commands = info.context.services.commands
        try:
            if not _manages(caller, (await commands.get_video(video_id)).account_id):
                return NotFound.of(video_id)
            video = await commands.delete_video(video_id)
        except NotFoundError:
            return NotFound.of(video_id)
        except VideoDeletedError as error:
            return VideoDeleted(message=str(error), video_id=video_id)
        await read_your_writes(info.context)
        return Video.of(video_entity(video))

    @mutation
    async def record_engagement(
        self, info: Info, events: list[EngagementEventInput]
    ) -> RecordEngagementResult:
        """Records a batch of engagement events (ingest role). Idempotent by eventId; the
        batch is validated whole before anything is appended."""
        access.recorder(info.context.caller)
        result = await record(info.context.services, events)
        if isinstance(result, IngestResult):  # its events are at or below the log's end
            info.context.written = await info.context.services.store.last_position()
        return result

    create_webhook = mutation(create_webhook)
    delete_webhook = mutation(delete_webhook)
    redeliver = mutation(redeliver)
    set_alert_rules = mutation(set_alert_rules)
