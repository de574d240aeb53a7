"""Shared helpers for the ACD domain tests."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from acd.domain import (
    AcdEngine,
    AgentConfig,
    Decision,
    Device,
    MemberConfig,
    QueueConfig,
)

T = TypeVar("T")


def mobile_agent() -> AgentConfig:
    return AgentConfig(devices=(Device(id="mobile", kind="mobile"),))


def members(*agent_ids: str, **levels: int) -> dict[str, MemberConfig]:
    return {a: MemberConfig(level=levels.get(a, 3)) for a in agent_ids}


def engine_with(
    queues: Mapping[str, QueueConfig],
    agents: Mapping[str, AgentConfig] | None = None,
    *,
    login: Iterable[str] | None = None,
    now: float = 0.0,
    seed: int = 1,
) -> AcdEngine:
    """An engine configured with ``queues``; every member gets a mobile device
    unless ``agents`` says otherwise; ``login`` agents log in to all queues."""
    all_agents: dict[str, AgentConfig] = {}
    for cfg in queues.values():
        for agent_id in cfg.members:
            all_agents[agent_id] = mobile_agent()
    all_agents.update(agents or {})
    engine = AcdEngine(rng=random.Random(seed))
    engine.configure(queues, all_agents, now)
    for agent_id in login or ():
        engine.agent_login(agent_id, None, now)
    return engine


def of(kind: type[T], decisions: Sequence[Decision]) -> list[T]:
    return [d for d in decisions if isinstance(d, kind)]
