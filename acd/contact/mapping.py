"""Dial plan (acd.config) -> the pure engine's frozen settings (acd.domain).

Devices (D7). Each user becomes an agent with the devices the device
directory knows (acd.telephony.directory): ``reg`` for every registered
contact (its kind is the user's first registering device kind; registrations
are not told apart by kind), ``static<i>`` / ``mobile<i>`` for fixed
addresses and mobiles through a trunk (always reachable).
"""

from __future__ import annotations

from acd.config import Dialplan, Queue, User
from acd.domain import AgentConfig, Device, MemberConfig, QueueConfig
from acd.telephony.directory import BROWSER, REGISTERED, device_ids

__all__ = ["BROWSER", "REGISTERED", "overflow_destinations", "agent_config", "engine_config", "queue_config"]

def overflow_destinations(queue: Queue) -> dict[str, str]:
    """Q5/Q6/Q7: engine overflow reason -> the destination the queue names for it."""
    by_reason = {
        "max_wait": queue.on_max_wait,
        "max_callers": queue.on_max_callers,
        "no_agents_logged_in": queue.on_no_agents_logged_in,
        "no_agents_available": queue.on_no_agents_available,
        "ring_attempts": queue.on_ring_attempts,
        "exit_key": queue.exit_destination,
    }
    return {reason: str(dest) for reason, dest in by_reason.items() if dest is not None}


def agent_config(user: User) -> AgentConfig:
    devices = tuple(Device(id=device_id, kind=kind) for device_id, kind in device_ids(user))
    return AgentConfig(devices=devices, languages=frozenset(user.languages))


def queue_config(queue: Queue) -> QueueConfig:
    overflow = overflow_destinations(queue)
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


def engine_config(dialplan: Dialplan) -> tuple[dict[str, QueueConfig], dict[str, AgentConfig]]:
    """Every user is an agent (so supervisors may log in anyone who is a member)."""
    agents = {name: agent_config(user) for name, user in dialplan.users.items()}
    queues = {name: queue_config(q) for name, q in dialplan.queues.items()}
    return queues, agents
