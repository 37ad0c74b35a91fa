"""``AlertRaised``: the fact of an alert, as it is appended to the log.

A row like an engagement fact (``stream_id``: the account; ``data``: JSON;
``event_id``: set), with an id derived from the rule, the subject and the window
(UUID v5): a rule that fires again for the same window, after a crash or while
projections are rebuilt, appends a duplicate that the store drops by its id. So
each alert is in the log exactly once. ``data``::

    {"type": "AlertRaised", "eventId": ..., "accountId": ..., "rule": "VIEWS_SPIKE",
     "subjectType": "VIDEO", "subjectId": ..., "windowStart": ..., "windowEnd": ...,
     "value": 412, "baseline": 37.0, "threshold": 111.0}

``baseline`` is the median (spikes) or the best earlier day (best days);
``threshold`` the value the rule asked for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from analytics_graph.alerts.rules import Rule
from analytics_graph.eventstore.records import NewEvent

TYPE = "AlertRaised"
NAMESPACE = uuid.UUID("6c1c4b56-3f4e-5bd2-9d7a-2b8f1d0e9a61")


@dataclass(frozen=True, slots=True)
class Alert:
    """A rule that fired for a subject (a video or an account) in a window."""

    rule: Rule
    account_id: UUID
    subject_id: UUID
    window_start: datetime
    window_end: datetime
    value: int
    baseline: float
    threshold: float

    @property
    def subject_type(self) -> str:
        return "VIDEO" if self.rule in (Rule.VIEWS_SPIKE, Rule.VIDEO_BEST_DAY) else "ACCOUNT"

    @property
    def event_id(self) -> UUID:
        """The same for every firing of one rule, subject and window."""
        key = f"{self.rule.value}|{self.subject_id}|{self.window_start.isoformat()}"
        return uuid.uuid5(NAMESPACE, key)

    def event(self, now: datetime | None = None) -> NewEvent:
        """The ``AlertRaised`` event to append."""
        data = {
            "type": TYPE,
            "eventId": str(self.event_id),
            "accountId": str(self.account_id),
            "rule": self.rule.value,
            "subjectType": self.subject_type,
            "subjectId": str(self.subject_id),
            "windowStart": self.window_start.isoformat(),
            "windowEnd": self.window_end.isoformat(),
            "value": self.value,
            "baseline": self.baseline,
            "threshold": self.threshold,
        }
        return NewEvent(
            stream_id=str(self.account_id),
            type=TYPE,
            event_id=self.event_id,
            occurred_at=now or datetime.now(UTC),
            data=data,
        )
