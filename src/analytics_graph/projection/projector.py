"""What a projection is: its tables, its version, the events it handles, and how
it applies a batch of the log.

A projection lives in a module of the top-level ``projections`` package and
exports one :class:`Projection`. The runner (``runner.py``) owns everything
else: checkpoints, transactions, batching, wake-ups, locks and rebuilds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from analytics_graph.types import Connection

SCHEMA_PREFIX = "rm_"
FILL_SIZE = 5_000_000
"""Most events of a first batch folded by :attr:`Projection.fill` (by default)."""
BUILD_SUFFIX = "__build"


def live_schema(name: str) -> str:
    """The PostgreSQL schema holding the tables that queries read for projection ``name``."""
    return f"{SCHEMA_PREFIX}{name}"


def rebuild_schema(name: str) -> str:
    """The schema a rebuild of ``name`` fills before it is swapped in as the live one."""
    return f"{SCHEMA_PREFIX}{name}{BUILD_SUFFIX}"


@dataclass(frozen=True, slots=True)
class Batch:
    """A final range of the log, ``after < position <= upto``, to apply to the
    tables in ``schema`` (the live schema, or the build schema during a rebuild)."""

    schema: str
    after: int
    upto: int


@dataclass(slots=True)
class Changes:
    """Which accounts and videos had numbers changed by a batch (canonical UUID text)."""

    accounts: set[str] = field(default_factory=set)
    videos: set[str] = field(default_factory=set)

    def add(self, accounts: Iterable[object] = (), videos: Iterable[object] = ()) -> Changes:
        """Adds ids (UUIDs or their text; ``None`` is ignored); returns ``self``."""
        self.accounts.update(str(a) for a in accounts if a is not None)
        self.videos.update(str(v) for v in videos if v is not None)
        return self

    def merge(self, other: Changes) -> Changes:
        self.accounts |= other.accounts
        self.videos |= other.videos
        return self


ApplyBatch = Callable[[Connection, Batch], Awaitable[Changes]]


@dataclass(frozen=True, slots=True)
class Projection:
    """One read model.

    ``ddl`` creates its tables; it is formatted with ``schema=`` the schema to
    create them in (every table name must be qualified as ``{schema}.name``).
    ``apply`` folds one batch into the tables of ``batch.schema``; it runs
    inside the transaction that also advances the checkpoint, so it must not
    commit, and must be deterministic given the tables and the log range: a
    batch applied after a crash starts again from the same tables. Raising
    aborts the whole batch. Changing ``version`` makes the runner rebuild the
    projection from position 0 into fresh tables.

    ``fill`` (optional) does what ``apply`` does for a batch starting at position 0,
    into the empty tables a build starts with: the set-wise shortcut of a fold that
    has nothing stored to merge with (no look-ups of earlier state, rows inserted in
    index order). The runner then takes a larger first batch
    (``RunnerOptions.fill_size``). It must leave exactly the tables ``apply`` would.
    """

    name: str
    version: int
    handles: frozenset[str]
    ddl: str
    apply: ApplyBatch
    description: str = ""
    fill: ApplyBatch | None = None

    def batch_limit(self, position: int, batch_size: int, fill_size: int) -> int:
        """Most events of the next batch from ``position``: a first batch that ``fill``
        folds may take up to ``fill_size`` (0: never fill)."""
        if position == 0 and self.fill is not None and fill_size > 0:
            return max(batch_size, fill_size)
        return batch_size

    def fold_for(self, after: int, fill_size: int) -> ApplyBatch:
        """How the batch starting after ``after`` is folded: ``fill`` for a first batch
        (when filling is on), else ``apply``."""
        if after == 0 and self.fill is not None and fill_size > 0:
            return self.fill
        return self.apply

    @property
    def schema(self) -> str:
        """The live schema, where queries find this projection's tables."""
        return live_schema(self.name)
