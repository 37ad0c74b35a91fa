"""Who may see and do what (DESIGN.md, "Roles and access").

Two kinds of refusal: a role that may not use a field at all gets a
``FORBIDDEN`` error; an id the caller may not see is treated exactly like an
id that does not exist (``null``, or ``NotFound`` in a mutation), so its
existence never leaks.
"""

from __future__ import annotations

from uuid import UUID

from analytics_graph.api.errors import Forbidden, Unauthenticated
from analytics_graph.auth import Caller, Role

READERS = frozenset({Role.CREATOR, Role.AUDITOR, Role.ADMIN})
LOG_READERS = frozenset({Role.AUDITOR, Role.ADMIN})
RECORDERS = frozenset({Role.INGEST, Role.ADMIN})
MANAGERS = frozenset({Role.CREATOR, Role.ADMIN})


def authenticated(caller: Caller | None) -> Caller:
    """The caller; raises :class:`Unauthenticated` when the request carried no token."""
    if caller is None:
        raise Unauthenticated
    return caller


def reader(caller: Caller | None) -> Caller:
    """A caller allowed to read accounts and videos; raises otherwise."""
    caller = authenticated(caller)
    if caller.role not in READERS:
        raise Forbidden(f"the {caller.role} role reads nothing")
    return caller


def log_reader(caller: Caller | None) -> Caller:
    """A caller allowed to read the event log (auditors, admins); raises otherwise."""
    caller = authenticated(caller)
    if caller.role not in LOG_READERS:
        raise Forbidden(f"the event log is for auditors; the {caller.role} role may not read it")
    return caller


def recorder(caller: Caller | None) -> Caller:
    """A caller allowed to record engagement (ingest, admin); raises otherwise."""
    caller = authenticated(caller)
    if caller.role not in RECORDERS:
        raise Forbidden(f"recording engagement needs the ingest role, not {caller.role}")
    return caller


def manager(caller: Caller | None) -> Caller:
    """A caller allowed to change accounts and videos (their own, or any for admins)."""
    caller = authenticated(caller)
    if caller.role not in MANAGERS:
        raise Forbidden(f"the {caller.role} role changes no accounts or videos")
    return caller


def admin(caller: Caller | None) -> Caller:
    """An admin; raises otherwise."""
    caller = authenticated(caller)
    if caller.role is not Role.ADMIN:
        raise Forbidden(f"only admins register accounts, not the {caller.role} role")
    return caller


def sees_account(caller: Caller, account_id: UUID) -> bool:
    """Whether the account's data is visible to ``caller`` (a reader or manager)."""
    if caller.role is Role.CREATOR:
        return caller.account_id == account_id
    return caller.role in (Role.AUDITOR, Role.ADMIN)
