"""Who may see and do what, from the dial plan: roles per user, and what a
signed-in principal sees (the pure rules are :mod:`acd.web.auth.policy`).

- An agent sees their own agent and the queues they are a member of.
- A supervisor also sees the queues in ``supervises`` and every member of them.
- An admin sees everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from acd.config import Dialplan
from acd.web.auth import Principal, Role, UserRoles


def roles_from(plan_of: Callable[[], Dialplan | None]) -> Callable[[str], UserRoles | None]:
    """``user -> UserRoles`` read from the running plan at each request (a reload
    changes what people may do at once; a user without roles cannot sign in)."""
    cache: dict[int, dict[str, UserRoles]] = {}

    def roles(user: str) -> UserRoles | None:
        plan = plan_of()
        if plan is None:
            return None
        table = cache.get(id(plan))
        if table is None:
            cache.clear()
            table = {
                name: UserRoles(
                    roles=frozenset(Role(r) for r in conf.roles),
                    supervises=frozenset(conf.supervises),
                )
                for name, conf in plan.users.items()
                if conf.roles
            }
            cache[id(plan)] = table
        return table.get(user)

    return roles


def member_queues(plan: Dialplan, agent: str) -> list[str]:
    return [name for name, queue in plan.queues.items() if agent in queue.members]


@dataclass(frozen=True, slots=True)
class Visibility:
    """What one principal sees; ``None`` means everything."""

    queues: frozenset[str] | None
    agents: frozenset[str] | None

    def sees_queue(self, queue: str | None) -> bool:
        return self.queues is None or (queue is not None and queue in self.queues)

    def sees_agent(self, agent: str | None) -> bool:
        return self.agents is None or (agent is not None and agent in self.agents)

    def sees(self, event: dict[str, object]) -> bool:
        """Is this hub event about something the principal may see?"""
        kind = event.get("type")
        if kind in ("queue_event", "queue", "callback"):
            return self.sees_queue(_text(event.get("queue")))
        return self.sees_agent(_text(event.get("agent")))


def visibility(plan: Dialplan | None, who: Principal) -> Visibility:
    if who.is_admin:
        return Visibility(None, None)
    if plan is None:
        return Visibility(frozenset(), frozenset({who.user}))
    queues = set(member_queues(plan, who.user))
    agents = {who.user}
    if who.is_supervisor:
        supervised = [q for q in who.supervises if q in plan.queues]
        queues.update(supervised)
        for q in supervised:
            agents.update(plan.queues[q].members)
    return Visibility(frozenset(queues), frozenset(agents))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
