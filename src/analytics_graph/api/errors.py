"""Errors a resolver raises on purpose: shown to clients with their message and a code.

Anything else a resolver raises is unexpected: the client sees "Unexpected
error." with the code ``INTERNAL_SERVER_ERROR`` and the server logs the details
(see ``engine/masking.py``). Expected failures of mutations are not errors at all:
they are members of the mutations' result unions (``api/types/problems.py``).
"""

from __future__ import annotations

from typing import ClassVar

from analytics_graph.errors import AnalyticsGraphError


class ClientError(AnalyticsGraphError):
    """A failure the client caused or may know about; ``code`` goes into the error's
    ``extensions.code``."""

    code: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": self.code, **extensions}


class Unauthenticated(ClientError):
    """No bearer token was sent."""

    code = "UNAUTHENTICATED"

    def __init__(self) -> None:
        super().__init__("authentication required: send the header 'Authorization: Bearer <token>'")


class Forbidden(ClientError):
    """The caller's role may not use this field at all (never about a particular id:
    what a caller may not see answers like an id that does not exist)."""

    code = "FORBIDDEN"


class ProAccountRequired(ClientError):
    """Analytics were asked of an account that is not a Pro account."""

    code = "NOT_PRO_ACCOUNT"

    def __init__(self, account_id: object) -> None:
        super().__init__(
            f"analytics are available to Pro accounts only: account {account_id} is a"
            " personal account (switch it with switchToProAccount)",
            accountId=str(account_id),
        )


class BadUserInput(ClientError):
    """An argument value is out of its allowed range; ``argument`` names it."""

    code = "BAD_USER_INPUT"

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(f"{argument}: {reason}", argument=argument)


def page_size(first: int | None, default: int, limit: int) -> int:
    """``first`` (``default`` when null), checked against ``0 .. limit``."""
    size = default if first is None else first
    if not 0 <= size <= limit:
        raise BadUserInput("first", f"must be between 0 and {limit}, not {size}")
    return size
