"""Alerts and the rules that raise them (docs/webhooks.md, "Alerts")."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from analytics_graph.alerts import AlertRules as Rules
from analytics_graph.api.types.scalars import Position
from projections.alerts.queries import RaisedAlert


@strawberry.enum(description="Why an alert was raised.")
class AlertRule(Enum):
    VIEWS_SPIKE = "VIEWS_SPIKE"
    ACCOUNT_BEST_DAY = "ACCOUNT_BEST_DAY"
    VIDEO_BEST_DAY = "VIDEO_BEST_DAY"
    FOLLOWER_LOSS_SPIKE = "FOLLOWER_LOSS_SPIKE"


VIDEO_RULES = frozenset(("VIEWS_SPIKE", "VIDEO_BEST_DAY"))


@strawberry.type(description="A rule that fired for a video or an account in a window (an"
                 " AlertRaised event of the log).")  # fmt: skip
class Alert:
    id: strawberry.ID = strawberry.field(description="The AlertRaised event's eventId.")
    position: Position = strawberry.field(description="Where the event is in the log.")
    rule: AlertRule
    subject_id: strawberry.ID = strawberry.field(
        description="The video (VIEWS_SPIKE, VIDEO_BEST_DAY) or the account."
    )
    video_id: strawberry.ID | None = strawberry.field(description="The video, for video rules.")
    window_start: datetime = strawberry.field(description="The UTC clock hour or day.")
    window_end: datetime
    value: int = strawberry.field(description="Views or followers lost in the window.")
    baseline: float = strawberry.field(
        description="The median of the 7 days before (spikes), or the best earlier day."
    )
    threshold: float = strawberry.field(description="What the value had to reach.")
    raised_at: datetime

    @classmethod
    def of(cls, alert: RaisedAlert) -> Alert:
        subject = strawberry.ID(str(alert.subject_id))
        return cls(
            id=strawberry.ID(str(alert.event_id)),
            position=Position(alert.position),
            rule=AlertRule(alert.rule),
            subject_id=subject,
            video_id=subject if alert.rule in VIDEO_RULES else None,
            window_start=alert.window_start,
            window_end=alert.window_end,
            value=alert.value,
            baseline=alert.baseline,
            threshold=alert.threshold,
            raised_at=alert.raised_at,
        )

    @classmethod
    def from_event(cls, position: int, data: dict[str, Any], raised_at: datetime) -> Alert:
        """From an ``AlertRaised`` event's data (``alerts/events.py``)."""
        subject = strawberry.ID(data["subjectId"])
        return cls(
            id=strawberry.ID(data["eventId"]),
            position=Position(position),
            rule=AlertRule(data["rule"]),
            subject_id=subject,
            video_id=subject if data["rule"] in VIDEO_RULES else None,
            window_start=datetime.fromisoformat(data["windowStart"]),
            window_end=datetime.fromisoformat(data["windowEnd"]),
            value=int(data["value"]),
            baseline=float(data["baseline"]),
            threshold=float(data["threshold"]),
            raised_at=raised_at,
        )


@strawberry.type(description="An account's alert rules (defaults, unless overridden).")
class AlertRules:
    views_spike_enabled: bool
    views_spike_factor: float = strawberry.field(
        description="Views in an hour >= factor x the median of that hour on the 7 days before."
    )
    views_spike_min_views: int
    best_day_enabled: bool = strawberry.field(
        description="ACCOUNT_BEST_DAY and VIDEO_BEST_DAY: today beats every earlier day."
    )
    best_day_min_views: int
    follower_loss_enabled: bool
    follower_loss_factor: float = strawberry.field(
        description="Followers lost today >= factor x the median of the 7 days before."
    )
    follower_loss_min: int

    @classmethod
    def of(cls, rules: Rules) -> AlertRules:
        return cls(**rules.stored())


@strawberry.input(description="Only the fields given change; the others keep their values.")
class AlertRulesInput:
    views_spike_enabled: bool | None = strawberry.UNSET
    views_spike_factor: float | None = strawberry.UNSET
    views_spike_min_views: int | None = strawberry.UNSET
    best_day_enabled: bool | None = strawberry.UNSET
    best_day_min_views: int | None = strawberry.UNSET
    follower_loss_enabled: bool | None = strawberry.UNSET
    follower_loss_factor: float | None = strawberry.UNSET
    follower_loss_min: int | None = strawberry.UNSET

    def changes(self) -> dict[str, Any]:
        """The fields given (null counts as not given)."""
        names = [f.name for f in Rules.__dataclass_fields__.values()]
        return {n: v for n in names if (v := getattr(self, n)) not in (None, strawberry.UNSET)}
