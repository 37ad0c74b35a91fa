"""The words and limits of the engagement-event ingest format (DESIGN.md).

Enum values are the GraphQL enum names. The limits are the "values out of
range" of the design: what a collector may send and still be accepted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Literal, get_args

EventType = Literal[
    "view", "like", "unlike", "comment", "share", "favorite", "profileView", "follow", "unfollow"
]
TrafficSource = Literal[
    "FOR_YOU", "FOLLOWING", "PERSONAL_PROFILE", "SOUND", "SEARCH", "HASHTAG", "OTHER"
]
Gender = Literal["FEMALE", "MALE", "OTHER", "UNKNOWN"]
AgeRange = Literal["AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_PLUS", "UNKNOWN"]

EVENT_TYPES: Final[tuple[str, ...]] = get_args(EventType)
TRAFFIC_SOURCES: Final[tuple[str, ...]] = get_args(TrafficSource)
GENDERS: Final[tuple[str, ...]] = get_args(Gender)
AGE_RANGES: Final[tuple[str, ...]] = get_args(AgeRange)

#: Event types whose subject is a video (their stream is the video's id).
VIDEO_EVENT_TYPES: Final = frozenset({"view", "like", "unlike", "comment", "share", "favorite"})
#: Event types whose subject is an account (their stream is the account's id).
ACCOUNT_EVENT_TYPES: Final = frozenset({"profileView", "follow", "unfollow"})

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
