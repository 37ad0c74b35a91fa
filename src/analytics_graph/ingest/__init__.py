"""Validation and bulk append of engagement events (DESIGN.md, "Engagement events").

:class:`Ingestor` is the entry point (GraphQL's ``recordEngagement``, the
``analytics-graph ingest`` command and ``POST /ingest`` all use it);
docs/log-format.md describes the rows it writes. ``http`` serves ``POST /ingest``
(reading bodies with ``body``); ``client`` is the collector that posts to it.
"""

from analytics_graph.ingest.facts import FactsCache, VideoFacts
from analytics_graph.ingest.rejections import Rejection
from analytics_graph.ingest.service import Ingestor, IngestOutcome
from analytics_graph.ingest.validation import Validation, Validator

__all__ = [
    "FactsCache",
    "IngestOutcome",
    "Ingestor",
    "Rejection",
    "Validation",
    "Validator",
    "VideoFacts",
]
