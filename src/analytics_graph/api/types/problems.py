"""Expected failures of mutations: members of the mutations' result unions."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="What every expected failure has.")
class UserError:
    message: str


@strawberry.type
class HandleTaken(UserError):
    handle: str


@strawberry.type(description="Unknown ids, and ids the caller may not see.")
class NotFound(UserError):
    id: strawberry.ID

    @classmethod
    def of(cls, id: object) -> NotFound:
        """The one answer for an id that does not exist or that the caller may not see."""
        return cls(message=f"{id} was not found", id=strawberry.ID(str(id)))


@strawberry.type
class VideoDeleted(UserError):
    video_id: strawberry.ID


@strawberry.type
class NotProAccount(UserError):
    account_id: strawberry.ID


@strawberry.type(description="A field that fails validation.")
class InvalidInput(UserError):
    field: str = strawberry.field(description="The input field, e.g. `handle` or `input.handle`.")


@strawberry.type(description="Why one event of a batch was rejected.")
class RejectedEvent:
    index: int = strawberry.field(description="Position of the event in the batch, from 0.")
    field: str | None = strawberry.field(
        description="The event's field, as a dotted path (`viewer.country`); null: the event."
    )
    reason: str


@strawberry.type(description="A batch with at least one rejected event: nothing of it was written.")
class IngestRejected(UserError):
    rejected: list[RejectedEvent]


@strawberry.type(description="A batch that was written.")
class IngestResult:
    accepted: int = strawberry.field(description="Events new to the store, now in the log.")
    duplicates: int = strawberry.field(
        description="Events whose eventId was already stored (before, or earlier in the batch)."
    )
