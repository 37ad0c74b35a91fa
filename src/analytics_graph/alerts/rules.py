"""The alert rules, their defaults, and each account's overrides.

Rules (docs/webhooks.md, "Alerts"):

* ``VIEWS_SPIKE`` (a video): its views in a UTC clock hour are at least
  ``views_spike_factor`` times the median of the same hour on the 7 days before,
  and at least ``views_spike_min_views``. Checked for the hour in progress and the
  last full hour, so it fires as soon as the hour crosses the line.
* ``ACCOUNT_BEST_DAY`` / ``VIDEO_BEST_DAY``: today's (UTC) views of the account's
  videos / of the video beat every earlier day's (there is at least one), and are
  at least ``best_day_min_views``.
* ``FOLLOWER_LOSS_SPIKE`` (an account): followers lost today are at least
  ``follower_loss_factor`` times the median of the 7 days before, and at least
  ``follower_loss_min``.

Each fires at most once per rule, subject and window (the hour or the day).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

import orjson

from analytics_graph.errors import InvalidInputError
from analytics_graph.types import Connection


class Rule(StrEnum):
    VIEWS_SPIKE = "VIEWS_SPIKE"
    ACCOUNT_BEST_DAY = "ACCOUNT_BEST_DAY"
    VIDEO_BEST_DAY = "VIDEO_BEST_DAY"
    FOLLOWER_LOSS_SPIKE = "FOLLOWER_LOSS_SPIKE"


MAX_FACTOR = 1_000.0
MAX_COUNT = 1_000_000_000


@dataclass(frozen=True, slots=True)
class AlertRules:
    """One account's rule settings (the defaults unless overridden)."""

    views_spike_enabled: bool = True
    views_spike_factor: float = 3.0
    views_spike_min_views: int = 100
    best_day_enabled: bool = True
    best_day_min_views: int = 100
    follower_loss_enabled: bool = True
    follower_loss_factor: float = 3.0
    follower_loss_min: int = 10

    def overridden(self, changes: Mapping[str, Any], prefix: str = "rules") -> AlertRules:
        """These rules with ``changes`` (names of fields); raises
        :class:`InvalidInputError` naming ``{prefix}.<camelCaseField>`` when a value is
        out of range."""
        for name, value in changes.items():
            _check(name, value, f"{prefix}.{_camel(name)}")
        return dataclasses.replace(self, **changes)

    def stored(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT = AlertRules()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _check(name: str, value: Any, field: str) -> None:
    if name.endswith("_factor"):
        if not 1.0 <= float(value) <= MAX_FACTOR:
            raise InvalidInputError(field, f"a factor is between 1 and {MAX_FACTOR:g}")
    elif name.endswith(("_min_views", "_min")) and not 1 <= int(value) <= MAX_COUNT:
        raise InvalidInputError(field, f"a minimum count is between 1 and {MAX_COUNT}")


def _from_stored(data: Mapping[str, Any]) -> AlertRules:
    known = {f.name for f in dataclasses.fields(AlertRules)}
    return dataclasses.replace(DEFAULT, **{k: v for k, v in data.items() if k in known})


async def rules_of(conn: Connection, accounts: Sequence[UUID]) -> dict[UUID, AlertRules]:
    """Each account's rules (:data:`DEFAULT` for accounts without overrides)."""
    rows = await conn.fetch(
        "SELECT account_id, rules FROM alert_rules WHERE account_id = ANY($1::uuid[])",
        list(accounts),
    )
    found = {r["account_id"]: _from_stored(orjson.loads(r["rules"])) for r in rows}
    return {a: found.get(a, DEFAULT) for a in accounts}


async def set_rules(conn: Connection, account: UUID, changes: Mapping[str, Any]) -> AlertRules:
    """Overrides some of the account's rule settings; returns them all. Raises
    :class:`InvalidInputError` (nothing stored) when a value is out of range."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", str(account))
        current = (await rules_of(conn, [account]))[account]
        rules = current.overridden(changes)
        await conn.execute(
            """INSERT INTO alert_rules (account_id, rules) VALUES ($1, $2::jsonb)
            ON CONFLICT (account_id) DO UPDATE SET rules = EXCLUDED.rules, updated_at = now()""",
            account,
            orjson.dumps(rules.stored()).decode(),
        )
    return rules
