"""Who may do what: pure decisions over role data (no I/O, no Starlette).

Roles come from the dial plan, per user: ``agent``, ``supervisor`` (of named
queues) and ``admin``. Until the plan carries them, callers build the role
data from a plain mapping ``user -> (roles, supervised queues)`` with
:func:`role_table`. An agent's queues (for "is this agent in a queue I
supervise?") are passed in by the caller, who knows the plan.

Rules:

- Everyone signed in may change their own agent state.
- A supervisor may change the state of any agent who is a member of one of
  the queues they supervise, and see those queues.
- An agent may see the queues they are a member of.
- An admin may do everything, including reload and managing others' tokens.
- A token acts for its owner with at most its own role: a ``supervisor``
  token of an admin cannot reload.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


_RANK = {Role.AGENT: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}


class RoleError(ValueError):
    """Role data names a role that does not exist."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRoles:
    roles: frozenset[Role]
    supervises: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The signed-in user (or a token acting for them) of one request."""

    user: str
    roles: frozenset[Role]
    supervises: frozenset[str] = frozenset()
    via: str = "session"  # "session" or "token"
    token_id: str | None = field(default=None)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_supervisor(self) -> bool:
        return Role.SUPERVISOR in self.roles


def parse_role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise RoleError(f"unknown role {name!r} (known: {known})") from None


def role_table(
    mapping: Mapping[str, tuple[Iterable[str], Iterable[str]]],
) -> dict[str, UserRoles]:
    """``{"bob": (["agent"], []), "sue": (["supervisor"], ["sales"])}`` -> role data.

    A supervisor with no queues supervises none; queues given to a user who
    is not a supervisor (or admin) are an error, as is an unknown role.
    """
    table: dict[str, UserRoles] = {}
    for user, (role_names, queues) in mapping.items():
        roles = frozenset(parse_role(r) for r in role_names)
        supervised = frozenset(queues)
        if supervised and not roles & {Role.SUPERVISOR, Role.ADMIN}:
            raise RoleError(f"user {user!r}: supervises {sorted(supervised)} but is no supervisor")
        table[user] = UserRoles(roles=roles, supervises=supervised)
    return table


def session_principal(user: str, data: UserRoles) -> Principal:
    return Principal(user=user, roles=data.roles, supervises=data.supervises, via="session")


def token_principal(user: str, data: UserRoles, token_role: str, token_id: str) -> Principal:
    """The owner's roles capped at the token's role (owner's current roles win)."""
    cap = _RANK[parse_role(token_role)]
    roles = frozenset(r for r in data.roles if _RANK[r] <= cap)
    supervises = data.supervises if roles & {Role.SUPERVISOR, Role.ADMIN} else frozenset()
    return Principal(user=user, roles=roles, supervises=supervises, via="token", token_id=token_id)


def may_change_agent_state(principal: Principal, agent: str, agent_queues: Iterable[str]) -> bool:
    """May ``principal`` log ``agent`` in/out, pause, make ready (any queue of theirs)?"""
    if principal.is_admin:
        return True
    if principal.user == agent:
        return True
    if principal.is_supervisor:
        return not principal.supervises.isdisjoint(agent_queues)
    return False


def may_change_agent_queue(principal: Principal, agent: str, queue: str) -> bool:
    """May ``principal`` log ``agent`` in to or out of this one ``queue``?"""
    if principal.is_admin or principal.user == agent:
        return True
    return principal.is_supervisor and queue in principal.supervises


def may_see_queue(principal: Principal, queue: str, members: Iterable[str]) -> bool:
    """May ``principal`` see ``queue`` (its callers, agents, figures)?"""
    if principal.is_admin:
        return True
    if principal.is_supervisor and queue in principal.supervises:
        return True
    return principal.user in set(members)


def may_reload(principal: Principal) -> bool:
    return principal.is_admin


def may_manage_tokens_of(principal: Principal, owner: str) -> bool:
    """Create, list and revoke tokens owned by ``owner``."""
    return principal.is_admin or principal.user == owner


def may_grant_token_role(principal: Principal, role: str) -> bool:
    """A token may not carry more than its creator holds."""
    wanted = _RANK[parse_role(role)]
    return any(_RANK[r] >= wanted for r in principal.roles)
