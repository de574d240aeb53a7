"""Dial plan (acd.config) -> the pure engine's frozen settings (acd.domain).

Devices (D7). Each user becomes an agent with these engine devices:

* ``reg``: every registered contact of the user (desk phone, softphone,
  browser), forked together. Its kind is the user's first registering device
  kind (``phone`` by default). Registrations are not told apart by kind.
* ``static<i>`` / ``mobile<i>``: the user's i-th device of that kind in the
  dial plan (a fixed address, a mobile through a trunk): always reachable.
"""

from __future__ import annotations

from typing import Any

from acd.domain import AgentConfig, Device, MemberConfig, QueueConfig

REGISTERED = "reg"
REGISTERING_KINDS = ("phone", "softphone", "browser")

# Q5/Q6/Q7: engine overflow reason -> the queue setting naming its destination.
OVERFLOW_SETTINGS = {
    "max_wait": "on_max_wait",
    "max_callers": "on_max_callers",
    "no_agents_logged_in": "on_no_agents_logged_in",
    "no_agents_available": "on_no_agents_available",
    "ring_attempts": "on_ring_attempts",
    "exit_key": "exit_destination",
}


def agent_config(user: Any) -> AgentConfig:
    devices: list[Device] = []
    kinds = [str(d.kind) for d in getattr(user, "devices", ()) or ()]
    registering = [k for k in kinds if k in REGISTERING_KINDS]
    if registering:
        devices.append(Device(id=REGISTERED, kind=registering[0]))
    for index, kind in enumerate(kinds):
        if kind in ("static", "mobile"):
            devices.append(Device(id=f"{kind}{index}", kind=kind))
    return AgentConfig(devices=tuple(devices), languages=frozenset(user.languages or ()))


def queue_config(queue: Any) -> QueueConfig:
    overflow = {
        reason: str(getattr(queue, setting))
        for reason, setting in OVERFLOW_SETTINGS.items()
        if getattr(queue, setting, None) is not None
    }
    ring_at_once = None if queue.ring_at_once == "all" else int(queue.ring_at_once)
    return QueueConfig(
        strategy=queue.strategy,
        among_equals=queue.among_equals,
        ring_at_once=ring_at_once,
        ring_time=float(queue.ring_time),
        ring_attempts=queue.ring_attempts,
        members={
            name: MemberConfig(level=m.level, order=m.order) for name, m in queue.members.items()
        },
        device_kinds=frozenset(str(k) for k in queue.device_kinds),
        presence_blocks=bool(queue.presence_blocks),
        wrap_up=float(queue.wrap_up),
        auto_logout_after=queue.auto_logout_after,
        max_wait=None if queue.max_wait is None else float(queue.max_wait),
        max_callers=queue.max_callers,
        overflow=overflow,
        exit_key=queue.exit_key,
        priority=int(queue.priority),
        default_handle_time=float(queue.default_handle_time),
    )


def engine_config(dialplan: Any) -> tuple[dict[str, QueueConfig], dict[str, AgentConfig]]:
    """Every user is an agent (so supervisors may log in anyone who is a member)."""
    agents = {name: agent_config(user) for name, user in dialplan.users.items()}
    queues = {name: queue_config(q) for name, q in dialplan.queues.items()}
    return queues, agents
