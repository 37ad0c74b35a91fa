"""Log positions in HTTP headers: read your writes across replicas and nodes.

* ``Analytics-Graph-Position`` on a mutation's answer: the log position its
  writes reached; on a query's answer: the position every read model it was
  read from includes.
* ``Analytics-Graph-Min-Position`` on a query: answer only from read models that
  include this position (a replica that has replayed that far, waited for
  briefly, else the primary). A position beyond the log's end is refused (400);
  one the read models have not reached in time gets 503 with ``Retry-After``.
* ``Analytics-Graph-Read``: where a query was read (``primary``, ``replica-N``).
"""

from __future__ import annotations

from analytics_graph.api.http.protocol import RequestError
from analytics_graph.replication import PositionNotReached

POSITION_HEADER = "Analytics-Graph-Position"
MIN_POSITION_HEADER = "Analytics-Graph-Min-Position"
READ_HEADER = "Analytics-Graph-Read"
MAX_POSITION = 2**63 - 1


def min_position(value: str | None) -> int:
    """The position an ``Analytics-Graph-Min-Position`` header asks for (0 without one);
    raises a 400 :class:`RequestError` naming the header unless it is a whole number
    from 0 to 2^63-1."""
    if value is None:
        return 0
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_POSITION:
        raise RequestError(
            400, f"{MIN_POSITION_HEADER}: {value[:40]!r} is not a log position (0 to 2^63-1)"
        )
    return int(text)


def not_reached(error: PositionNotReached) -> RequestError:
    """The answer to a request whose minimum position no read model has reached."""
    message = f"{MIN_POSITION_HEADER}: {error}"
    if error.beyond_log:
        return RequestError(400, message)
    return RequestError(503, message, "POSITION_NOT_REACHED", {"Retry-After": "1"})
