"""Who may see and do what (DESIGN.md, "Roles and access").

Two kinds of refusal: a role that may not use a field at all gets a
``FORBIDDEN`` error; an id the caller may not see is treated exactly like an
id that does not exist (``null``, or ``NotFound`` in a mutation), so its
existence never leaks.
"""

from __future__ import annotations

from collections.abc import Collection
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


def _with_role(caller: Caller | None, roles: Collection[Role], refusal: str) -> Caller:
    """The authenticated caller if its role is one of ``roles``; else raises
    :class:`Forbidden` with ``refusal`` (``{role}`` names the caller's role)."""
    caller = authenticated(caller)
    if caller.role not in roles:
        raise Forbidden(refusal.format(role=caller.role))
    return caller


def reader(caller: Caller | None) -> Caller:
    """A caller allowed to read accounts and videos; raises otherwise."""
    return _with_role(caller, READERS, "the {role} role reads nothing")


def log_reader(caller: Caller | None) -> Caller:
    """A caller allowed to read the event log (auditors, admins); raises otherwise."""
    return _with_role(
        caller, LOG_READERS, "the event log is for auditors; the {role} role may not read it"
    )


def recorder(caller: Caller | None) -> Caller:
    """A caller allowed to record engagement (ingest, admin); raises otherwise."""
    return _with_role(caller, RECORDERS, "recording engagement needs the ingest role, not {role}")


def manager(caller: Caller | None) -> Caller:
    """A caller allowed to change accounts and videos (their own, or any for admins)."""
    return _with_role(caller, MANAGERS, "the {role} role changes no accounts or videos")


def admin(caller: Caller | None) -> Caller:
    """An admin; raises otherwise."""
    return _with_role(caller, {Role.ADMIN}, "only admins register accounts, not the {role} role")


def sees_account(caller: Caller, account_id: UUID) -> bool:
    """Whether the account's data is visible to ``caller`` (a reader or manager)."""
    if caller.role is Role.CREATOR:
        return caller.account_id == account_id
    return caller.role in (Role.AUDITOR, Role.ADMIN)
