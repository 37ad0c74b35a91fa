"""Bearer tokens: who calls, in which role, for which account.

A token is a JWT signed (HS256) with ``ANALYTICS_GRAPH_SECRET``; when that is
unset, a secret is generated once into ``<data dir>/secret`` and reused by
every process sharing the folder. Claims: ``role`` (one of :class:`Role`),
``sub`` (the account id; required for creators), ``iat`` and ``exp``.

Usage::

    secret = signing_secret(settings)
    token = issue_token(secret, Role.CREATOR, account_id)
    caller = verify_token(secret, token)      # raises InvalidTokenError
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from uuid import UUID

from analytics_graph.config import Settings
from analytics_graph.errors import AnalyticsGraphError, ConfigurationError

ALGORITHM = "HS256"
SECRET_FILE = "secret"
DEFAULT_TTL_SECONDS = 30 * 24 * 3600
LEEWAY_SECONDS = 30
MIN_SECRET_BYTES = 32  # RFC 7518: an HS256 key is at least as long as the hash


class Role(StrEnum):
    """What a caller may do (DESIGN.md, "Roles and access")."""

    CREATOR = "creator"
    """Reads their own account, its videos and (while Pro) analytics; manages them."""
    INGEST = "ingest"
    """Records engagement; reads nothing."""
    AUDITOR = "auditor"
    """Reads everything, including the event log; changes nothing."""
    ADMIN = "admin"
    """Everything."""


class InvalidTokenError(AnalyticsGraphError):
    """The bearer token is malformed, expired, wrongly signed or has bad claims."""


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller; ``account_id`` is set for creators (optional for others)."""

    role: Role
    account_id: UUID | None = None

    @property
    def key(self) -> str:
        """A stable text identifying the caller's rights (cache keys)."""
        return f"{self.role.value}:{self.account_id or '-'}"


def issue_token(
    secret: str,
    role: Role,
    account_id: UUID | None = None,
    *,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """A signed token; raises ``ValueError`` for a creator without an account."""
    if role is Role.CREATOR and account_id is None:
        raise ValueError("a creator token needs an account id")
    import jwt  # here: ``ingest``, which every collector runs, starts without it (0.1 s)

    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {"role": role.value, "iat": issued, "exp": issued + ttl_seconds}
    if account_id is not None:
        claims["sub"] = str(account_id)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Caller:
    """The caller a token names; raises :class:`InvalidTokenError` saying why not."""
    import jwt

    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "role"]},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise InvalidTokenError("the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise InvalidTokenError(f"the token is not valid ({exc})") from None
    return _caller(claims)


class TokenVerifier:
    """:func:`verify_token` with a bounded memory of tokens already verified (each kept
    only until it expires), so a client's every request does not redo the HMAC."""

    def __init__(self, secret: str, maxsize: int = 10_000) -> None:
        self.secret = secret
        self.maxsize = maxsize
        self._known: dict[str, tuple[Caller, float]] = {}

    def verify(self, token: str) -> Caller:
        """The caller a token names; raises :class:`InvalidTokenError` saying why not."""
        known = self._known.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        caller = verify_token(self.secret, token)
        import jwt

        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        if len(self._known) >= self.maxsize:
            self._known.clear()
        self._known[token] = (caller, float(expires) + LEEWAY_SECONDS)
        return caller


def token_expiry(token: str) -> float | None:
    """The ``exp`` of a token already verified (Unix seconds), or ``None``."""
    import jwt

    try:
        expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.InvalidTokenError:
        return None
    return float(expires) if isinstance(expires, int | float) else None


def _caller(claims: dict[str, object]) -> Caller:
    try:
        role = Role(str(claims["role"]))
    except ValueError:
        raise InvalidTokenError(f"unknown role {claims['role']!r}") from None
    subject = claims.get("sub")
    try:
        account_id = None if subject is None else UUID(str(subject))
    except ValueError:
        raise InvalidTokenError("the token's subject is not an account id") from None
    if role is Role.CREATOR and account_id is None:
        raise InvalidTokenError("a creator token must name an account")
    return Caller(role, account_id)


def signing_secret(settings: Settings) -> str:
    """``ANALYTICS_GRAPH_SECRET``, or the secret generated into the data folder."""
    if settings.secret is not None:
        secret = str(settings.secret)
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"ANALYTICS_GRAPH_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
            )
        return secret
    return _stored_secret(settings.data_dir / SECRET_FILE)


def _stored_secret(path: Path) -> str:
    """Reads the secret file, creating it first (exclusively, mode 0600) if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
    for _ in range(50):  # another process may have created it and still be writing
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise ConfigurationError(f"the secret file {path} is empty")
