"""Replaying the log up to a point: the numbers the API would have answered then.

The events up to the point are copied, exactly as stored (positions included),
into a scratch database; the real app is started on it, so the projection runner
folds them into fresh read models with the same projection code; and the real
GraphQL endpoint answers the questions (every scalar field, ``documents.py``).
A scratch *database* rather than a schema: the read-model queries name their live
schemas (``rm_<name>``), and a database of its own gives them those names without
touching the live ones. It is dropped at the end.

With ``compare``, the same questions go to the live read models (through the same
app, on the live database) and every number of the two answers is compared.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from starlette.datastructures import Secret

from analytics_graph.audit.documents import account_query, video_query
from analytics_graph.auth import Role, issue_token, signing_secret
from analytics_graph.config import Settings
from analytics_graph.eventstore import partitions
from analytics_graph.eventstore.formats import FORMAT_COLUMNS
from analytics_graph.eventstore.reader import wait_until_final
from analytics_graph.eventstore.schema import migrated_scratch
from analytics_graph.projection.status import live_positions, wait_until_applied
from analytics_graph.types import Connection

COPY_COLUMNS = [
    "position", "stream_id", "stream_version", "type", "event_id",
    "occurred_at", "recorded_at", "data", "state", *FORMAT_COLUMNS,
]  # fmt: skip
TOPICS = "analytics_graph.domain.aggregates:"
MAX_RANGE_DAYS = 731
REPLAY_TIMEOUT = 24 * 3600.0


class ReplayError(ValueError):
    """The replay cannot be done as asked (a point beyond the log, a bad range)."""


@dataclass(frozen=True, slots=True)
class Subjects:
    """What to ask about: account and video ids (canonical UUID text)."""

    accounts: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Comparison:
    """How two answers compare: numbers compared, and the paths of those that differ."""

    compared: int = 0
    differences: list[str] = field(default_factory=list)

    def add(self, path: str, ours: Any, theirs: Any) -> None:
        if isinstance(ours, dict) and isinstance(theirs, dict):
            for key in sorted(ours.keys() | theirs.keys()):
                self.add(f"{path}.{key}", ours.get(key), theirs.get(key))
        elif isinstance(ours, list) and isinstance(theirs, list):
            if len(ours) != len(theirs):
                self.differences.append(f"{path}: {len(ours)} entries, live {len(theirs)}")
            for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
                self.add(f"{path}[{i}]", a, b)
        elif _number(ours) or _number(theirs):
            self.compared += 1
            if ours != theirs:
                self.differences.append(f"{path}: replayed {ours!r}, live {theirs!r}")
        elif ours != theirs:
            self.differences.append(f"{path}: replayed {ours!r}, live {theirs!r}")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def resolve_point(conn: Connection, as_of: str) -> int:
    """The position ``as_of`` names: digits are a position; otherwise an ISO 8601 time
    (UTC when no offset), meaning the last event recorded at or before it. Raises
    :class:`ReplayError` for a point beyond the final log or unreadable text."""
    final = await wait_until_final(conn)
    if as_of.isdigit():
        position = int(as_of)
    else:
        try:
            moment = datetime.fromisoformat(as_of)
        except ValueError:
            raise ReplayError(f"--as-of {as_of!r}: a position or an ISO 8601 time") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        found = await conn.fetchval(
            "SELECT max(position) FROM events WHERE recorded_at <= $1 AND position <= $2",
            moment,
            final,
        )
        position = int(found or 0)
    if position > final:
        raise ReplayError(f"--as-of {as_of}: the log is final up to position {final} only")
    return position


async def live_point(conn: Connection) -> int:
    """Where every live read model stands (the least of their checkpoints)."""
    import projections

    live = await live_positions(conn, [p.name for p in projections.ALL])
    if len(live) < len(projections.ALL):
        raise ReplayError("--compare: the live read models do not exist yet (start the server)")
    return min(c.position for c in live.values())


def parse_range(text: str) -> tuple[date, date]:
    """``START:END`` as two ISO dates; raises :class:`ReplayError`."""
    try:
        start_text, end_text = text.split(":")
        start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
    except ValueError:
        raise ReplayError(
            f"--range {text!r}: START:END as ISO dates (2025-01-01:2025-01-31)"
        ) from None
    if end < start or (end - start).days >= MAX_RANGE_DAYS:
        raise ReplayError(f"--range {text}: START <= END, at most {MAX_RANGE_DAYS} days")
    return start, end


async def default_range(conn: Connection, position: int) -> tuple[date, date]:
    """The days the events up to ``position`` occurred on (the last 731 at most)."""
    row = await conn.fetchrow(
        "SELECT min(occurred_at), max(occurred_at) FROM events WHERE position <= $1", position
    )
    assert row is not None
    if row[0] is None:
        today = datetime.now(UTC).date()
        return today, today
    start, end = row[0].astimezone(UTC).date(), row[1].astimezone(UTC).date()
    return max(start, end - timedelta(days=MAX_RANGE_DAYS - 1)), end


async def every_subject(conn: Connection, position: int) -> Subjects:
    """Every account registered and video published up to ``position``, in log order."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (stream_id) stream_id, type, position FROM events "
        "WHERE position <= $1 AND type = ANY($2::text[]) ORDER BY stream_id, position",
        position,
        [f"{TOPICS}Account.Registered", f"{TOPICS}Video.Published"],
    )
    ordered = sorted(rows, key=lambda r: r["position"])
    return Subjects(
        accounts=[r["stream_id"] for r in ordered if r["type"].endswith("Account.Registered")],
        videos=[r["stream_id"] for r in ordered if r["type"].endswith("Video.Published")],
    )


@contextlib.asynccontextmanager
async def scratch_copy(live: Connection, live_url: str, position: int) -> AsyncIterator[str]:
    """A scratch database holding the events up to ``position`` as stored; its DSN.
    Dropped when the block exits."""
    async with migrated_scratch(live_url, "analytics_graph_replay") as url:
        scratch = await asyncpg.connect(url)
        try:
            await partitions.cover(scratch, position)
            with tempfile.TemporaryFile() as spool:
                query = f"SELECT {', '.join(COPY_COLUMNS)} FROM events WHERE position <= $1"
                await live.copy_from_query(query, position, output=spool, format="binary")
                spool.seek(0)
                await scratch.copy_to_table(
                    "events", source=spool, columns=COPY_COLUMNS, format="binary"
                )
            await scratch.execute("ANALYZE events")
        finally:
            await scratch.close()
        yield url


class Asker:
    """The real app over one database, asked through its GraphQL endpoint as an admin."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self._client = client
        self._token = token

    async def ask(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {self._token}", "accept": "application/json"},
        )
        answer: dict[str, Any] = response.json()
        return answer


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Asker]:
    """The app's lifespan (system, projections, sealer) around an in-process client."""
    from analytics_graph.app import create_app  # the whole app: imported only when used

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://replay", timeout=600
        ) as client:
            yield Asker(client, issue_token(signing_secret(settings), Role.ADMIN))


def scratch_settings(settings: Settings, url: str) -> Settings:
    """Throwaway secrets: nothing signed in the scratch database is a statement of ours."""
    return replace(
        settings,
        database_url=url,
        secret=Secret(secrets.token_urlsafe(48)),
        signing_key=Secret(secrets.token_hex(32)),
    )


def questions(
    subjects: Subjects, days: tuple[date, date]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(kind, id, variables)`` per subject, with the query of its kind."""
    custom = {"custom": {"start": days[0].isoformat(), "end": days[1].isoformat()}}
    for account in subjects.accounts:
        yield "account", account, {"id": account, "range": custom}
    for video in subjects.videos:
        yield "video", video, {"id": video, "range": custom}


async def answers(
    asker: Asker, subjects: Subjects, days: tuple[date, date]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The answer (``data`` and any ``errors``) to each question."""
    queries = {"account": account_query(), "video": video_query()}
    found = {}
    for kind, id_, variables in questions(subjects, days):
        found[(kind, id_)] = await asker.ask(queries[kind], variables)
    return found


async def replayed(
    settings: Settings, live: Connection, live_url: str, position: int, subjects: Subjects,
    days: tuple[date, date],
) -> dict[tuple[str, str], dict[str, Any]]:  # fmt: skip
    """The answers of read models rebuilt from the events up to ``position``."""
    async with scratch_copy(live, live_url, position) as url:
        async with serving(scratch_settings(settings, url)) as asker:
            conn = await asyncpg.connect(url)
            try:
                import projections

                await wait_until_applied(
                    conn, projections.ALL, position, within=REPLAY_TIMEOUT, interval=0.1
                )
            finally:
                await conn.close()
            return await answers(asker, subjects, days)


async def live_answers(
    settings: Settings, subjects: Subjects, days: tuple[date, date]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The same questions answered by the live read models."""
    async with serving(settings) as asker:
        return await answers(asker, subjects, days)


def compare(
    ours: dict[tuple[str, str], dict[str, Any]], theirs: dict[tuple[str, str], dict[str, Any]]
) -> Comparison:
    result = Comparison()
    for key in ours:
        result.add(f"{key[0]}({key[1]})", ours[key], theirs.get(key))
    return result
