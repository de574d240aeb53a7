"""Ready agents of one queue, in the order the queue's strategy offers them.

Agents are grouped in *tiers* (D3: the skill level; D2: the place in the
ring-in-order list, members without one last; longest_idle/random: one
tier). Inside a tier, D4 picks among equals: the longest idle first (a list
sorted by ``(idle_since, agent_id)``) or at random.

Only agents who could take a call from this queue right now are indexed:
ready, logged in to the queue, not blocked by presence (D8) and with a
reachable device of a kind the queue rings (D7). The engine keeps that
true; this class only orders.
"""

from __future__ import annotations

import random
from bisect import bisect_left, insort
from collections.abc import Callable

from acd.domain.config import QueueConfig

UNORDERED_TIER = 1 << 30


def tier_of(cfg: QueueConfig, agent_id: str) -> int:
    member = cfg.members[agent_id]
    if cfg.strategy == "skills":
        # D3: level 1 is best.
        return member.level
    if cfg.strategy == "sequential":
        # D2: members not in the order ring last.
        return UNORDERED_TIER if member.order is None else member.order
    return 0


def among_equals_of(cfg: QueueConfig) -> str:
    if cfg.strategy == "longest_idle":
        return "longest_idle"
    if cfg.strategy == "random":
        return "random"
    return cfg.among_equals


class _Tier:
    __slots__ = ("sorted", "members")

    def __init__(self) -> None:
        # longest idle: sorted (idle_since, agent_id); random: insertion order.
        self.sorted: list[tuple[float, str]] = []
        self.members: dict[str, tuple[float, str]] = {}


class ReadyIndex:
    __slots__ = ("random_order", "_tiers", "_tier_keys", "_agent_tier")

    def __init__(self, *, random_order: bool) -> None:
        self.random_order = random_order
        self._tiers: dict[int, _Tier] = {}
        self._tier_keys: list[int] = []
        self._agent_tier: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._agent_tier)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._agent_tier

    def agents(self) -> list[str]:
        return list(self._agent_tier)

    def add(self, agent_id: str, tier: int, idle_since: float) -> None:
        if agent_id in self._agent_tier:
            return
        bucket = self._tiers.get(tier)
        if bucket is None:
            bucket = self._tiers[tier] = _Tier()
            insort(self._tier_keys, tier)
        entry = (idle_since, agent_id)
        bucket.members[agent_id] = entry
        if self.random_order:
            bucket.sorted.append(entry)
        else:
            insort(bucket.sorted, entry)
        self._agent_tier[agent_id] = tier

    def remove(self, agent_id: str) -> None:
        tier = self._agent_tier.pop(agent_id, None)
        if tier is None:
            return
        bucket = self._tiers[tier]
        entry = bucket.members.pop(agent_id)
        if self.random_order:
            bucket.sorted.remove(entry)
        else:
            i = bisect_left(bucket.sorted, entry)
            del bucket.sorted[i]
        if not bucket.members:
            del self._tiers[tier]
            del self._tier_keys[bisect_left(self._tier_keys, tier)]

    def pick(self, count: int, accept: Callable[[str], bool], rng: random.Random) -> list[str]:
        """Up to ``count`` agents in offer order, skipping those ``accept`` refuses."""
        chosen: list[str] = []
        if count <= 0:
            return chosen
        for tier in self._tier_keys:
            entries = self._tiers[tier].sorted
            if self.random_order:
                # D4 random among equals: a lazy Fisher-Yates over a copy.
                pool = list(entries)
                n = len(pool)
                for i in range(n):
                    j = rng.randrange(i, n)
                    pool[i], pool[j] = pool[j], pool[i]
                    agent_id = pool[i][1]
                    if accept(agent_id):
                        chosen.append(agent_id)
                        if len(chosen) == count:
                            return chosen
            else:
                # D4 longest idle first.
                for _, agent_id in entries:
                    if accept(agent_id):
                        chosen.append(agent_id)
                        if len(chosen) == count:
                            return chosen
        return chosen
