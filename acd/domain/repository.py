"""Agent reservation behind a small interface.

Reserving an agent for an offer must be one atomic step, so that several
nodes can share agents. A PostgreSQL adapter would implement
``try_reserve`` as ``UPDATE agents SET taken = true WHERE id = :id AND NOT
taken RETURNING id``; the engine never needs to know.
"""

from __future__ import annotations

from typing import Protocol


class AgentRepository(Protocol):
    def try_reserve(self, agent_id: str) -> bool:
        """Take the agent for one offer; False if someone else holds it."""
        ...

    def release(self, agent_id: str) -> None:
        """The agent is free again (back to ready, paused or logged out)."""
        ...


class InMemoryAgentRepository:
    """The single-node default: a set of taken agents."""

    __slots__ = ("_taken",)

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def try_reserve(self, agent_id: str) -> bool:
        if agent_id in self._taken:
            return False
        self._taken.add(agent_id)
        return True

    def release(self, agent_id: str) -> None:
        self._taken.discard(agent_id)

    def is_taken(self, agent_id: str) -> bool:
        return agent_id in self._taken
