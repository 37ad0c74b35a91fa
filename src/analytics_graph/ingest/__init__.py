"""Validation and bulk append of engagement events (DESIGN.md, "Engagement events").

:class:`Ingestor` is the entry point (GraphQL's ``recordEngagement``, the
``analytics-graph ingest`` command and ``POST /ingest`` all use it);
docs/log-format.md describes the rows it writes. ``http`` serves ``POST /ingest``
(reading bodies with ``body``); ``client`` is the collector that posts to it.

The names below are imported on first use, so that the collector, which needs
none of them, starts without the validation and the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analytics_graph.ingest.facts import FactsCache, VideoFacts
    from analytics_graph.ingest.outcome import IngestOutcome
    from analytics_graph.ingest.rejections import Rejection
    from analytics_graph.ingest.service import Ingestor
    from analytics_graph.ingest.validation import Validation, Validator

_HOMES = {
    "FactsCache": "facts",
    "VideoFacts": "facts",
    "IngestOutcome": "outcome",
    "Rejection": "rejections",
    "Ingestor": "service",
    "Validation": "validation",
    "Validator": "validation",
}

__all__ = [
    "FactsCache",
    "IngestOutcome",
    "Ingestor",
    "Rejection",
    "Validation",
    "Validator",
    "VideoFacts",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
