"""Download links: a short-lived token in the URL that allows one export only.

A browser cannot put a bearer header on a plain link, so ``exportLink`` in
GraphQL answers an absolute URL whose ``?token=`` is a JWT signed with the same
secret as bearer tokens, but with its own audience (``aud``) and an ``export``
claim naming exactly one export: the kind, the id, the format, the days and the
section. It expires after :data:`LINK_TTL_SECONDS`.

The two kinds of token never stand in for each other: a bearer token has no
``aud``, which :func:`verify_link_token` requires; a link token carries an
``aud`` and no ``role``, which bearer verification (``auth.verify_token``)
refuses.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import jwt

from analytics_graph.api.types.ranges import Days
from analytics_graph.auth import ALGORITHM, LEEWAY_SECONDS, InvalidTokenError
from analytics_graph.export.request import ExportRequest, Format, Kind, Section

AUDIENCE = "analytics-graph:export"
LINK_TTL_SECONDS = 5 * 60
PATH = "/export/{kind}/{id}.{format}"


def path_of(request: ExportRequest) -> str:
    """The path of ``request``'s export (no query)."""
    return PATH.format(kind=request.kind.value, id=request.id, format=request.format.value)


def issue_link_token(
    secret: str,
    request: ExportRequest,
    *,
    ttl_seconds: int = LINK_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """A token allowing ``request`` alone, for ``ttl_seconds``."""
    issued = int(time.time() if now is None else now)
    days = request.days
    export: dict[str, Any] = {
        "kind": request.kind.value,
        "id": str(request.id),
        "format": request.format.value,
        "start": days.start.isoformat() if days else None,
        "end": days.end.isoformat() if days else None,
        "section": request.section.value if request.section else None,
    }
    claims = {"aud": AUDIENCE, "iat": issued, "exp": issued + ttl_seconds, "export": export}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def link_url(origin: str, secret: str, request: ExportRequest, **issue: Any) -> str:
    """The absolute URL (``origin``: scheme, host and any root path) of ``request``'s
    export, with a link token."""
    query = request.query() | {"token": issue_link_token(secret, request, **issue)}
    return f"{origin.rstrip('/')}{path_of(request)}?{urlencode(query)}"


def verify_link_token(secret: str, token: str) -> ExportRequest:
    """The one export a link token allows; raises :class:`InvalidTokenError` saying
    why not (expired, wrongly signed, not a link token)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "aud", "export"]},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise InvalidTokenError("the link has expired: ask for a new one (exportLink)") from None
    except jwt.InvalidTokenError as exc:
        raise InvalidTokenError(f"the token is not a valid export link ({exc})") from None
    try:
        return _request(claims["export"])
    except (KeyError, TypeError, ValueError):
        raise InvalidTokenError("the link's token names no export") from None


def _request(export: dict[str, Any]) -> ExportRequest:
    start, end, section = export["start"], export["end"], export["section"]
    days = None if start is None else Days(date.fromisoformat(start), date.fromisoformat(end))
    return ExportRequest(
        Kind(export["kind"]),
        UUID(export["id"]),
        Format(export["format"]),
        days,
        None if section is None else Section(section),
    )
