"""Custom scalars of the contract.

``Position``: a place in the global log. GraphQL's ``Int`` is 32-bit, which a
platform's log outgrows within days; positions are 64-bit in the store and are
served as JSON numbers up to 2^53 - 1 (the integers a JavaScript client reads
exactly). On input, a JSON number or a string of decimal digits is accepted;
anything else is refused as a client error (``GraphQLError``), not masked.
"""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from graphql import GraphQLError

MAX_POSITION = 2**53 - 1


def _serialize(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Position cannot represent {value!r}")
    if not 0 <= value <= MAX_POSITION:
        raise ValueError(f"Position out of range: {value}")
    return value


def _parse(value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError("a position is an integer (a JSON number or a string of digits)")
    if not 0 <= value <= MAX_POSITION:
        raise GraphQLError(f"a position is between 0 and {MAX_POSITION}")
    return value


Position = NewType("Position", int)

SCALARS: dict[object, Any] = {
    Position: strawberry.scalar(
        name="Position",
        description="A place in the global event log: an integer from 0 to 2^53-1, served as "
        "a JSON number; a JSON number or a string of decimal digits on input.",
        serialize=_serialize,
        parse_value=_parse,
    )
}
"""The ``scalar_map`` of the schema's config."""
