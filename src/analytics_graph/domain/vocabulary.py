"""The product's words, defined once: account types, engagement event types, traffic
sources, genders and age ranges.

Values are the names clients use everywhere: the GraphQL enum values
(``api/types/enums.py`` derives its enums from these classes), the ingest format's
``type`` tags and enum fields (``ingest/wire.py`` decodes into these classes), and
what the log stores. A test ties the GraphQL enums and the ingest format to them.
"""

from __future__ import annotations

from enum import StrEnum


class AccountType(StrEnum):
    PERSONAL = "PERSONAL"
    CREATOR = "CREATOR"
    BUSINESS = "BUSINESS"


class EngagementType(StrEnum):
    """The ``type`` of an engagement event (a fact about a video or an account)."""

    VIEW = "view"
    LIKE = "like"
    UNLIKE = "unlike"
    COMMENT = "comment"
    SHARE = "share"
    FAVORITE = "favorite"
    PROFILE_VIEW = "profileView"
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"


#: Engagement types whose subject is a video (their stream is the video's id).
VIDEO_ENGAGEMENT: frozenset[str] = frozenset(
    {
        EngagementType.VIEW,
        EngagementType.LIKE,
        EngagementType.UNLIKE,
        EngagementType.COMMENT,
        EngagementType.SHARE,
        EngagementType.FAVORITE,
    }
)
#: Engagement types whose subject is an account (their stream is the account's id).
ACCOUNT_ENGAGEMENT: frozenset[str] = frozenset(
    {EngagementType.PROFILE_VIEW, EngagementType.FOLLOW, EngagementType.UNFOLLOW}
)


class TrafficSource(StrEnum):
    FOR_YOU = "FOR_YOU"
    FOLLOWING = "FOLLOWING"
    PERSONAL_PROFILE = "PERSONAL_PROFILE"
    SOUND = "SOUND"
    SEARCH = "SEARCH"
    HASHTAG = "HASHTAG"
    OTHER = "OTHER"


class Gender(StrEnum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class AgeRange(StrEnum):
    AGE_18_24 = "AGE_18_24"
    AGE_25_34 = "AGE_25_34"
    AGE_35_44 = "AGE_35_44"
    AGE_45_54 = "AGE_45_54"
    AGE_55_PLUS = "AGE_55_PLUS"
    UNKNOWN = "UNKNOWN"
