"""An independent RFC 6962 / RFC 9162 verifier, written from the RFCs and docs/audit.md,
sharing no code with ``analytics_graph.audit`` (what the tests check it against)."""

from __future__ import annotations

import hashlib
import struct
import uuid
from datetime import UTC, datetime
from typing import Any


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_of(row: dict[str, Any]) -> bytes:
    """The leaf hash of an ``events`` row (``data`` as its jsonb text), per docs/audit.md."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)

    def text(s: str) -> bytes:
        return struct.pack(">I", len(s.encode("utf-8"))) + s.encode("utf-8")

    def micros(t: datetime) -> bytes:
        delta = t - epoch
        return struct.pack(">q", (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds)

    def opt(value: Any, encode: Any) -> bytes:
        return b"\x00" if value is None else b"\x01" + encode(value)

    out = struct.pack(">q", row["position"]) + text(row["stream_id"])
    out += opt(row["stream_version"], lambda v: struct.pack(">q", v))
    out += text(row["type"])
    out += opt(row["event_id"], lambda u: uuid.UUID(str(u)).bytes)
    out += opt(row["occurred_at"], micros) + micros(row["recorded_at"])
    if row["data"] is not None:
        out += b"\x01" + text(row["data"])
    else:
        out += b"\x02" + struct.pack(">I", len(row["state"])) + row["state"]
    return sha(b"\x00" + out)


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 2.1: the Merkle Tree Hash of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = sha(b"\x01" + p + r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2."""
    if first == second:
        return not path and first_root == second_root
    if first == 0 or first > second or not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = sha(b"\x01" + c + fr)
            sr = sha(b"\x01" + c + sr)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = sha(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
