"""Signing per the Standard Webhooks specification (https://www.standardwebhooks.com).

A secret is ``whsec_`` followed by the base64 of 32 random bytes. Each request
carries ``webhook-id`` (the message id, the same on every retry: receivers
deduplicate by it), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature``: ``v1,`` and the base64 of HMAC-SHA256 over
``"{id}.{timestamp}.{body}"`` keyed with the secret's bytes. Receivers verify with
any Standard Webhooks library (the tests use the ``standardwebhooks`` package).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret, ``whsec_...``."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt, and the content type."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
