"""Signed tree heads: ``{treeSize, rootHash, sealedAt}`` signed with Ed25519.

The signed message is 53 bytes (``docs/audit.md``)::

    b"AGTH" || 0x01 || tree_size (8 bytes BE) || root (32 bytes)
            || sealed_at (8 bytes BE signed, microseconds since 1970-01-01T00:00:00Z)
 The key is
``ANALYTICS_GRAPH_SIGNING_KEY`` (64 hex digits: the 32-byte private seed) or
``<data dir>/signing-key`` (generated on first use, mode 0600, same format).
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from analytics_graph.config import Settings
from analytics_graph.errors import ConfigurationError

KEY_FILE = "signing-key"
MAGIC = b"AGTH\x01"
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEAD = struct.Struct(">Q32sq")


def _micros(moment: datetime) -> int:
    return (moment - UNIX_EPOCH) // timedelta(microseconds=1)


def message(tree_size: int, root_hash: bytes, sealed_at: datetime) -> bytes:
    """The bytes a head's signature covers."""
    return MAGIC + _HEAD.pack(tree_size, root_hash, _micros(sealed_at))


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A signed statement: the first ``tree_size`` sealed events hash to ``root_hash``."""

    tree_size: int
    root_hash: bytes
    sealed_at: datetime
    signature: bytes
    public_key: bytes

    def valid(self) -> bool:
        """Whether ``signature`` is ``public_key``'s signature of this head."""
        try:
            key = Ed25519PublicKey.from_public_bytes(self.public_key)
            key.verify(self.signature, message(self.tree_size, self.root_hash, self.sealed_at))
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        """The head as an auditor keeps it (hashes and keys as lowercase hex)."""
        return {
            "treeSize": self.tree_size,
            "rootHash": self.root_hash.hex(),
            "sealedAt": self.sealed_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "signature": self.signature.hex(),
            "publicKey": self.public_key.hex(),
        }

    @classmethod
    def from_json(cls, value: Any) -> TreeHead:
        """Reads :meth:`to_json`'s shape; raises ``ValueError`` naming what is wrong."""
        if not isinstance(value, dict):
            raise ValueError("a tree head is a JSON object")
        try:
            size = value["treeSize"]
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ValueError("treeSize: a non-negative integer")
            sealed_at = datetime.fromisoformat(value["sealedAt"])
            if sealed_at.tzinfo is None:
                raise ValueError("sealedAt: needs a UTC offset")
            head = cls(
                tree_size=size,
                root_hash=bytes.fromhex(value["rootHash"]),
                sealed_at=sealed_at,
                signature=bytes.fromhex(value["signature"]),
                public_key=bytes.fromhex(value["publicKey"]),
            )
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]}: missing") from None
        except TypeError as exc:
            raise ValueError(f"a field has the wrong type ({exc})") from None
        if len(head.root_hash) != 32:
            raise ValueError("rootHash: 64 hex digits")
        return head


class Signer:
    """Signs heads with one Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key().public_bytes_raw()

    def sign(self, tree_size: int, root_hash: bytes, sealed_at: datetime) -> TreeHead:
        signature = self._key.sign(message(tree_size, root_hash, sealed_at))
        return TreeHead(tree_size, root_hash, sealed_at, signature, self.public_key)

    @classmethod
    def from_hex(cls, text: str) -> Signer:
        """A signer from 64 hex digits (the private seed); raises ``ConfigurationError``."""
        try:
            seed = bytes.fromhex(text.strip())
            return cls(Ed25519PrivateKey.from_private_bytes(seed))
        except ValueError:
            raise ConfigurationError(
                "the signing key is 64 hex digits (an Ed25519 private seed)"
            ) from None


def signer(settings: Settings) -> Signer:
    """``ANALYTICS_GRAPH_SIGNING_KEY``, or the key generated into the data folder."""
    if settings.signing_key is not None:
        return Signer.from_hex(str(settings.signing_key))
    return Signer.from_hex(_stored_key(settings.data_dir / KEY_FILE))


def _stored_key(path: Path) -> str:
    """Reads the key file, creating it first (exclusively, mode 0600) if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(Ed25519PrivateKey.generate().private_bytes_raw().hex())
    for _ in range(50):  # another process may have created it and still be writing
        value = path.read_text().strip()
        if len(value) == 64:
            return value
        time.sleep(0.01)
    raise ConfigurationError(f"the signing key file {path} is incomplete")
