"""The limits of the engagement-event ingest format (DESIGN.md), and its words as
tuples of names (the words themselves are defined once, in ``domain/vocabulary.py``).

The limits are the "values out of range" of the design: what a collector may
send and still be accepted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from analytics_graph.domain.vocabulary import (
    ACCOUNT_ENGAGEMENT,
    VIDEO_ENGAGEMENT,
    AgeRange,
    EngagementType,
    Gender,
    TrafficSource,
)

EVENT_TYPES: Final[tuple[str, ...]] = tuple(EngagementType)
TRAFFIC_SOURCES: Final[tuple[str, ...]] = tuple(TrafficSource)
GENDERS: Final[tuple[str, ...]] = tuple(Gender)
AGE_RANGES: Final[tuple[str, ...]] = tuple(AgeRange)
VIDEO_EVENT_TYPES: Final = VIDEO_ENGAGEMENT
ACCOUNT_EVENT_TYPES: Final = ACCOUNT_ENGAGEMENT

#: How far in the future (by the ingesting machine's clock) ``occurredAt`` may lie.
MAX_FUTURE_SKEW: Final = timedelta(minutes=5)
#: ``watchedSeconds`` may reach this many times the video's length (loops).
LOOP_FACTOR: Final = 10
#: Longest user id, search term or share channel, in characters.
MAX_TEXT_LENGTH: Final = 256
#: Default and upper limit of events in one batch (``Settings.max_ingest_batch``).
DEFAULT_MAX_BATCH: Final = 10_000
#: Longest NDJSON line read, in bytes; a longer line is rejected unread.
MAX_LINE_BYTES: Final = 64 * 1024
