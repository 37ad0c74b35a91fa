"""How the persistence module presents our store's and asyncpg's errors to the library."""

from __future__ import annotations

import asyncpg
import pytest
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
)

from analytics_graph.errors import AppendOnlyViolation, ConcurrencyError, StoreError
from analytics_graph.eventstore.persistence import translated_errors


def _store_error_from(cause: BaseException) -> StoreError:
    try:
        raise StoreError("event store failure") from cause
    except StoreError as exc:
        return exc


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ConcurrencyError("stream", 2), IntegrityError),
        (_store_error_from(asyncpg.UniqueViolationError("dup")), IntegrityError),
        (AppendOnlyViolation("no"), OperationalError),
        (_store_error_from(asyncpg.RestrictViolationError("no")), IntegrityError),
        (asyncpg.UndefinedTableError("no table"), ProgrammingError),
        (asyncpg.PostgresSyntaxError("syntax"), ProgrammingError),
        (asyncpg.InvalidTextRepresentationError("bad"), DataError),
        (asyncpg.DeadlockDetectedError("deadlock"), OperationalError),
        (asyncpg.ConnectionDoesNotExistError("gone"), OperationalError),
        (asyncpg.InterfaceError("misuse"), InterfaceError),
        (ConnectionRefusedError("refused"), OperationalError),
        (StoreError("the persistence datastore is closed"), OperationalError),
        (asyncpg.PostgresError("unclassified"), DatabaseError),
    ],
)
def test_errors_are_translated(raised: BaseException, expected: type[PersistenceError]) -> None:
    with pytest.raises(expected) as caught, translated_errors():
        raise raised
    assert type(caught.value) is expected
    assert caught.value.__cause__ is raised


def test_other_errors_pass_through() -> None:
    with pytest.raises(ValueError, match="mine"), translated_errors():
        raise ValueError("mine")
