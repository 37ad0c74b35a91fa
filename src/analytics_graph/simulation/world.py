"""The world's cast: accounts, videos and users, drawn from a seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice
from typing import Any, Final
from uuid import UUID

from analytics_graph.domain.aggregates import AccountType

HOUR: Final = 3_600_000  # milliseconds
DAY: Final = 24 * HOUR
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
TOPICS: Final = ("dance", "recipe", "cats", "travel", "tutorial", "comedy", "music", "fitness",
                 "diy", "makeup", "gaming", "asmr", "football", "books")  # fmt: skip
COUNTRIES: Final = ("US", "GB", "DE", "FR", "BR", "IN", "ID", "MX", "JP", "ES", "NG", "CA")
COUNTRY_CUM: Final = tuple(accumulate((24, 8, 9, 7, 10, 12, 8, 6, 5, 5, 3, 3)))
GENDERS: Final = ("FEMALE", "MALE", "OTHER", "UNKNOWN")
AGES: Final = ("AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_PLUS")


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """The knobs of a world. ``events`` is exact; the ratios are expected shares of events
    (``deleted_ratio``: of videos). ``end`` bounds every ``occurredAt``; the world spans
    the ``weeks`` before it."""

    seed: int = 1
    accounts: int = 20
    pro_ratio: float = 0.6
    videos_per_account: float = 6.0
    users: int = 20_000
    events: int = 50_000
    end: datetime = datetime(2025, 6, 1, tzinfo=UTC)
    weeks: int = 6
    late_ratio: float = 0.02
    duplicate_ratio: float = 0.01
    deleted_ratio: float = 0.05
    offset_ratio: float = 0.05


@dataclass(frozen=True, slots=True)
class SimAccount:
    id: UUID
    handle: str
    display_name: str
    account_type: str  # an AccountType value

    @property
    def is_pro(self) -> bool:
        return self.account_type != AccountType.PERSONAL.value


@dataclass(frozen=True, slots=True)
class SimVideo:
    """A video; it gets engagement only from ``published_at`` and before ``deleted_at``."""

    id: UUID
    account_id: UUID
    caption: str
    duration_seconds: float
    published_at: datetime
    deleted_at: datetime | None
    popularity: float
    topics: tuple[str, ...]


def to_ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def random_uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


@dataclass(frozen=True)
class World:
    """Accounts, videos (sorted by publication) and users' attributes (``user-NNNNNN`` is
    ``user_attributes[N]``; ``None``: the user shares none)."""

    config: SimulationConfig
    accounts: list[SimAccount]
    videos: list[SimVideo]
    user_attributes: list[dict[str, str] | None] = field(repr=False)

    @property
    def start(self) -> datetime:
        return self.config.end - timedelta(weeks=self.config.weeks)

    def events(self) -> Iterator[dict[str, Any]]:
        """Exactly ``config.events`` engagement events in arrival order; the same every call."""
        from analytics_graph.simulation.stream import EventStream

        return islice(EventStream(self), self.config.events)


def generate_world(config: SimulationConfig) -> World:
    """Accounts, videos and user attributes, deterministically from ``config.seed``."""
    rng = random.Random(config.seed)
    accounts = [_account(rng, i, config.pro_ratio) for i in range(config.accounts)]
    start, end = to_ms(config.end) - config.weeks * 7 * DAY, to_ms(config.end)
    drafts: list[tuple[SimAccount, int]] = []
    for account in accounts:
        count = max(1, round(config.videos_per_account * rng.uniform(0.3, 1.7)))
        drafts.extend((account, rng.randrange(start, end - 3 * HOUR)) for _ in range(count))
    ranks = list(range(len(drafts)))
    rng.shuffle(ranks)  # popularity is Zipf-like by a random rank
    videos = [
        _video(rng, account, published, 1.0 / (rank + 1) ** 1.1, config.deleted_ratio, end)
        for (account, published), rank in zip(drafts, ranks, strict=True)
    ]
    videos.sort(key=lambda v: v.published_at)
    attributes = [_attributes(rng) for _ in range(config.users)]
    return World(config, accounts, videos, attributes)


def _account(rng: random.Random, index: int, pro_ratio: float) -> SimAccount:
    kind = AccountType.PERSONAL
    if rng.random() < pro_ratio:
        kind = AccountType.CREATOR if rng.random() < 0.75 else AccountType.BUSINESS
    return SimAccount(random_uuid(rng), f"creator_{index:05d}", f"Creator {index}", kind.value)


def _video(
    rng: random.Random, account: SimAccount, published: int, pop: float, deleted: float, end: int
) -> SimVideo:
    duration = round(min(180.0, max(5.0, rng.lognormvariate(3.2, 0.6))), 1)
    topics = tuple(rng.sample(TOPICS, 2))
    deleted_at = published + rng.randrange(2 * DAY, 20 * DAY) if rng.random() < deleted else None
    return SimVideo(
        id=random_uuid(rng),
        account_id=account.id,
        caption=f"{topics[0]} and {topics[1]} by @{account.handle}",
        duration_seconds=duration,
        published_at=from_ms(published),
        deleted_at=None if deleted_at is None or deleted_at >= end else from_ms(deleted_at),
        popularity=pop,
        topics=topics,
    )


def _attributes(rng: random.Random) -> dict[str, str] | None:
    if rng.random() < 0.1:
        return None
    out = {}
    if rng.random() < 0.85:
        out["country"] = rng.choices(COUNTRIES, cum_weights=COUNTRY_CUM)[0]
    if rng.random() < 0.9:
        out["gender"] = rng.choices(GENDERS, (48, 45, 3, 4))[0]
    if rng.random() < 0.8:
        out["ageRange"] = rng.choices(AGES, (35, 30, 18, 10, 7))[0]
    return out
