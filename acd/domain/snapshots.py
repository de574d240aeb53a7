"""Read-only views for the API and the supervisor view (S1), and Q3 estimates.

Snapshots are frozen copies: holding one never changes the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from acd.domain.agent_state import AgentState
from acd.domain.core import EngineCore
from acd.domain.errors import UnknownAgent, UnknownQueue
from acd.domain.ewt import estimate_wait

S = AgentState


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingCaller:
    call_id: str
    position: int
    priority: int
    joined_at: float
    wait: float
    ringing: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSnapshot:
    queue_id: str
    waiting: tuple[WaitingCaller, ...]
    longest_wait: float
    # Q3: estimate for a caller joining now (None: nobody is serving).
    ewt: float | None
    average_handle_time: float
    agents: Mapping[AgentState, tuple[str, ...]]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSnapshot:
    agent_id: str
    state: AgentState
    pause_reason: str | None
    since: float
    idle_since: float
    queues: frozenset[str]
    presence_busy: bool
    registered: frozenset[str]
    offer_id: str | None
    call_id: str | None
    unanswered_in_a_row: int
    unreachable_in_a_row: int
    # D11: inbound, outbound or internal while on_call.
    call_kind: str | None = None
    # Work the engine did not offer (acd.domain.work), by id.
    engaged: frozenset[str] = frozenset()


class EngineQueries(EngineCore):
    """Queries mixed into :class:`acd.domain.engine.AcdEngine`."""

    def position_of(self, call_id: str) -> int | None:
        """1-based place of a waiting caller; None once answered or gone."""
        call = self._calls.get(call_id)
        if call is None or not call.waiting:
            return None
        return self._waiting[call.queue_id].position(call.key)

    def ewt_for(self, call_id: str, now: float) -> float | None:
        """Q3 estimated wait of a waiting caller (see :mod:`acd.domain.ewt`)."""
        call = self._calls.get(call_id)
        if call is None or not call.waiting:
            return None
        # Callers ahead that are ringing already hold a (reserved) agent.
        position = 1
        for other_id in self._waiting[call.queue_id]:
            if other_id == call_id:
                break
            if not self._calls[other_id].offers:
                position += 1
        return self._estimate(call.queue_id, position)

    def queue_snapshot(self, queue_id: str, now: float) -> QueueSnapshot:
        if queue_id not in self._queues:
            raise UnknownQueue(f"queue {queue_id!r} is not configured")
        callers = []
        for position, call_id in enumerate(self._waiting[queue_id], start=1):
            call = self._calls[call_id]
            callers.append(
                WaitingCaller(
                    call_id=call_id,
                    position=position,
                    priority=call.priority,
                    joined_at=call.joined_at,
                    wait=now - call.joined_at,
                    ringing=len(call.offers),
                )
            )
        by_state: dict[AgentState, list[str]] = {}
        for agent_id in sorted(self._logged_in[queue_id]):
            by_state.setdefault(self._agents[agent_id].state, []).append(agent_id)
        cfg = self._queues[queue_id]
        return QueueSnapshot(
            queue_id=queue_id,
            waiting=tuple(callers),
            longest_wait=max((c.wait for c in callers), default=0.0),
            ewt=self._estimate(queue_id, 1 + sum(1 for c in callers if not c.ringing)),
            average_handle_time=self._handle[queue_id].average(cfg.default_handle_time),
            agents={state: tuple(ids) for state, ids in by_state.items()},
        )

    def agent_snapshot(self, agent_id: str) -> AgentSnapshot:
        rec = self._agents.get(agent_id)
        if rec is None:
            raise UnknownAgent(f"agent {agent_id!r} is not configured")
        return AgentSnapshot(
            agent_id=rec.id,
            state=rec.state,
            pause_reason=rec.pause_reason,
            since=rec.since,
            idle_since=rec.idle_since,
            queues=frozenset(rec.queues),
            presence_busy=rec.presence_busy,
            registered=frozenset(rec.registered),
            offer_id=rec.offer_id,
            call_id=rec.call_id,
            unanswered_in_a_row=rec.unanswered_in_a_row,
            unreachable_in_a_row=rec.unreachable_in_a_row,
            call_kind=rec.call_kind,
            engaged=frozenset(rec.engaged),
        )

    def _estimate(self, queue_id: str, position: int) -> float | None:
        """``position`` counts only callers not ringing yet (see ewt_for)."""
        cfg = self._queues.get(queue_id)
        if cfg is None:
            return None
        serving = 0
        for agent_id in self._logged_in[queue_id]:
            rec = self._agents[agent_id]
            if rec.state is not S.PAUSED and self._can_serve(rec, cfg):
                serving += 1
        ready = len(self._ready[queue_id])
        aht = self._handle[queue_id].average(cfg.default_handle_time)
        return estimate_wait(position=position, serving=serving, ready=ready, aht=aht)
