"""The domain: accounts and videos as event-sourced aggregates. No I/O here.

The aggregates (and so the ``eventsourcing`` library) are imported on first use, so
that what needs only the domain's words (``domain.vocabulary``: the reference
collector, through the ingest format's limits) starts without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analytics_graph.domain.aggregates import (
        Account,
        AccountType,
        HandleIndex,
        Video,
        handle_index_id,
    )

__all__ = ["Account", "AccountType", "HandleIndex", "Video", "handle_index_id"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.aggregates"), name)
