"""The contract's enums. Values are the GraphQL names, which are also the ingest
format's (DESIGN.md, "Precise semantics")."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="PERSONAL accounts have no analytics; CREATOR and BUSINESS are Pro.")
class AccountType(Enum):
    PERSONAL = "PERSONAL"
    CREATOR = "CREATOR"
    BUSINESS = "BUSINESS"


@strawberry.enum(description="Where a view came from.")
class TrafficSource(Enum):
    FOR_YOU = "FOR_YOU"
    FOLLOWING = "FOLLOWING"
    PERSONAL_PROFILE = "PERSONAL_PROFILE"
    SOUND = "SOUND"
    SEARCH = "SEARCH"
    HASHTAG = "HASHTAG"
    OTHER = "OTHER"


@strawberry.enum
class Gender(Enum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


@strawberry.enum
class AgeRange(Enum):
    AGE_18_24 = "AGE_18_24"
    AGE_25_34 = "AGE_25_34"
    AGE_35_44 = "AGE_35_44"
    AGE_45_54 = "AGE_45_54"
    AGE_55_PLUS = "AGE_55_PLUS"
    UNKNOWN = "UNKNOWN"
