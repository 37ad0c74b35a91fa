"""Which errors clients see as they are, and which are masked.

Shown as they are: syntax and validation errors, variable coercion errors
(no original exception), and :class:`~analytics_graph.api.errors.ClientError`
raised by resolvers. An error caused by the database being unreachable,
restarting or saturated (``database.is_unavailable``) is shown as
:data:`UNAVAILABLE_MESSAGE` with the code ``SERVICE_UNAVAILABLE`` and
``retryable: true`` (logged as one warning line). Anything else is a bug: the
client sees "Unexpected error." with the code ``INTERNAL_SERVER_ERROR``, the
server's log gets the traceback.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError

from analytics_graph.api.errors import ClientError
from analytics_graph.database import is_unavailable

MASKED_MESSAGE = "Unexpected error."
UNAVAILABLE_MESSAGE = "the database is unavailable (restarting or unreachable); retry shortly"
UNAVAILABLE = "SERVICE_UNAVAILABLE"
log = logging.getLogger("analytics_graph.api")


def is_unexpected(error: GraphQLError) -> bool:
    """True for errors that come from an exception the API did not raise on purpose."""
    original = error.original_error
    if original is None or isinstance(original, ClientError):
        return False
    return not isinstance(original, GraphQLError) or is_unexpected(original)


def masked(error: GraphQLError) -> GraphQLError:
    """The error as clients see it (unchanged unless unexpected)."""
    if not is_unexpected(error):
        return error
    unavailable = is_unavailable(_root(error))
    return GraphQLError(
        UNAVAILABLE_MESSAGE if unavailable else MASKED_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=unavailable_extensions() if unavailable else {"code": "INTERNAL_SERVER_ERROR"},
    )


def unavailable_extensions() -> dict[str, object]:
    """The ``extensions`` of an error the database's absence caused."""
    return {"code": UNAVAILABLE, "retryable": True}


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Logs the unexpected errors among ``errors``, with their tracebacks."""
    for error in errors:
        if is_unexpected(error):
            original = error.original_error
            assert original is not None
            if is_unavailable(_root(error)):
                log.warning("database unavailable at %s: %r", _where(error), original)
                continue
            log.error(
                "unexpected error at %s: %s",
                _where(error),
                original,
                exc_info=(type(original), original, original.__traceback__),
            )


def _where(error: GraphQLError) -> str:
    return ".".join(str(p) for p in error.path or ()) or "(operation)"


def _root(error: GraphQLError) -> BaseException:
    """The exception under any GraphQL errors wrapping it."""
    current: BaseException = error
    while isinstance(current, GraphQLError) and current.original_error is not None:
        current = current.original_error
    return current
