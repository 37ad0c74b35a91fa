"""Which errors clients see as they are, and which are masked.

Shown as they are: syntax and validation errors, variable coercion errors
(no original exception), and :class:`~analytics_graph.api.errors.ClientError`
raised by resolvers. Anything else is a bug or an outage: the client sees
"Unexpected error." with the code ``INTERNAL_SERVER_ERROR``, the server's log
gets the traceback.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError

from analytics_graph.api.errors import ClientError

MASKED_MESSAGE = "Unexpected error."
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
    return GraphQLError(
        MASKED_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Logs the unexpected errors among ``errors``, with their tracebacks."""
    for error in errors:
        if is_unexpected(error):
            original = error.original_error
            assert original is not None
            log.error(
                "unexpected error at %s: %s",
                ".".join(str(p) for p in error.path or ()) or "(operation)",
                original,
                exc_info=(type(original), original, original.__traceback__),
            )
