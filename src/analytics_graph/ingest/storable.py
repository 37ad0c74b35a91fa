"""What PostgreSQL cannot hold: a NUL character or a lone UTF-16 surrogate in a string.

``jsonb`` and ``text`` refuse ``\\u0000``, and UTF-8 has no encoding of a lone
surrogate (``\\ud800`` without its pair), so an event carrying either, in any
string at any depth, is rejected by validation naming the field, instead of
failing the whole append. JSON can only carry them as ``\\u`` escapes, so the
checks here run only on lines that contain such an escape (a fast byte search):
the common line costs nothing.
"""

from __future__ import annotations

import json
from typing import Final

from analytics_graph.ingest.rejections import Invalid

NUL_ESCAPE: Final = b"\\u0000"
NUL_REASON: Final = "contains a NUL character (\\u0000), which cannot be stored"
SURROGATE_REASON: Final = "contains a lone UTF-16 surrogate, which is not valid Unicode"


def _reason(text: str) -> str | None:
    if "\x00" in text:
        return NUL_REASON
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_REASON
    return None


def find(value: object, path: str = "") -> Invalid | None:
    """The first string in ``value`` (JSON-like: dicts, lists, strings) that cannot be
    stored, as an :class:`Invalid` naming its dotted path (keys count as their field)."""
    if isinstance(value, str):
        reason = _reason(value)
        return None if reason is None else Invalid(path or None, reason)
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (reason := _reason(key)) is not None:
                return Invalid(where, reason)
            found = find(item, where)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = find(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def in_line(raw: bytes) -> Invalid | None:
    """The unstorable string of an NDJSON line, if it has one (``None`` when the line
    has no ``\\u`` escape, or is not JSON at all: other checks report that)."""
    if b"\\u" not in raw:
        return None
    try:
        # The standard library's decoder keeps lone surrogates (msgspec and orjson
        # refuse the whole line), so it can tell which field holds one.
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return find(value)
