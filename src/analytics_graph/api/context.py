"""The typed per-request context: who calls, where reads run, the DataLoaders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import strawberry

from analytics_graph.api.reads.loaders import Loaders
from analytics_graph.api.reads.routed import RoutedSession
from analytics_graph.api.reads.snapshots import Session
from analytics_graph.api.services import Services
from analytics_graph.auth import Caller
from analytics_graph.replication import Requirement

if TYPE_CHECKING:
    from analytics_graph.api.live.watch import Watch


def utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(slots=True)
class Context:
    """One request's context (or one websocket connection's).

    ``today`` is fixed when the request starts, so presets mean the same days
    in every field of an answer. ``loaders`` batch and cache read-model
    queries for the request; :meth:`renew` starts afresh (a subscription does
    it before each update it sends).
    """

    services: Services
    caller: Caller | None
    session: Session
    today: date = field(default_factory=utc_today)
    connection_params: dict[str, Any] | None = None
    connection_headers: Mapping[str, str] = field(default_factory=dict)
    shared: bool = False
    """True for a websocket connection's context, which every operation on it shares."""
    beyond_read_models: bool = False
    """Set by a field that read the event log itself: the projections' checkpoints do
    not describe the log's head, so such an answer is never cached."""
    live: Watch | None = None
    """Set when the hub runs this subscription (``api/live``): see ``Watch``."""
    many: bool = False
    """Set on the context of a round of shared subscriptions, whose loaders the
    round's questions share (``Loaders(shared=True)``)."""
    _loaders: Loaders | None = None

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.session, shared=self.many)
        return self._loaders

    written: int | None = None
    """The log position a mutation's writes reached (its answer's
    ``Analytics-Graph-Position``), once it wrote."""

    def renew(self, requirement: Requirement | None = None) -> None:
        """Forgets what was loaded; later loads read through a fresh session, on a
        replica whose read models meet ``requirement`` (else on the primary)."""
        self.session = RoutedSession(self.services.reads, requirement)
        self._loaders = None
        self.today = utc_today()

    def join(self, other: Context) -> None:
        """Reads through ``other``'s session and loaders, with its ``today`` (the
        questions of one round of shared subscriptions read together)."""
        self.session, self._loaders, self.today = other.session, other.loaders, other.today

    def leave(self) -> None:
        """Forgets what the round it joined read."""
        self._loaders = None


Info: TypeAlias = strawberry.Info[Context, None]
