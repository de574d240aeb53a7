"""The engine's mutable bookkeeping: one record per agent, call and offer.

These never leave the domain; queries return frozen snapshots instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from acd.domain.agent_state import AgentState
from acd.domain.config import AgentConfig, QueueConfig
from acd.domain.timers import Timer
from acd.domain.waiting import WaitKey
from acd.domain.work import CallKind, Channel, WorkItem


@dataclass(slots=True, eq=False)
class AgentRecord:
    id: str
    config: AgentConfig
    state: AgentState = AgentState.LOGGED_OUT
    pause_reason: str | None = None
    since: float = 0.0
    # D4: end of the last call / wrap-up, or login.
    idle_since: float = 0.0
    queues: set[str] = field(default_factory=set)
    presence_busy: bool = False
    registered: set[str] = field(default_factory=set)
    offer_id: str | None = None
    call_id: str | None = None
    # A pause or logout asked for during a call, applied when it ends.
    pending_pause: str | None = None
    pending_logout: str | None = None
    # D10: rejections and no-answers in a row; unreachable counted apart.
    unanswered_in_a_row: int = 0
    unreachable_in_a_row: int = 0
    wrap_timer: Timer | None = None
    removed: bool = False
    # Work the engine did not offer (direct, internal, outbound calls): while
    # any is held the agent gets no offers and shows on_call (acd.domain.work).
    engaged: dict[str, WorkItem] = field(default_factory=dict)
    # D11: what kind of call an on_call agent is on.
    call_kind: CallKind | None = None


@dataclass(slots=True, eq=False)
class CallRecord:
    id: str
    queue_id: str
    # The queue's settings when the call joined (config reloads do not move them).
    cfg: QueueConfig
    priority: int
    joined_at: float
    key: WaitKey
    offers: set[str] = field(default_factory=set)
    # agent id -> when that agent last rejected / missed / was unreachable.
    tried: dict[str, float] = field(default_factory=dict)
    rounds: int = 0
    agent_id: str | None = None
    answered_at: float | None = None
    max_wait_timer: Timer | None = None
    # Callback requests (acd.domain.work): waiting without a caller on the line.
    channel: Channel = "voice"
    eligible_at: float | None = None  # not before this (a chosen window, a retry delay)
    expiry_timer: Timer | None = None

    @property
    def waiting(self) -> bool:
        return self.agent_id is None

    @property
    def is_callback(self) -> bool:
        return self.channel == "callback"

    def eligible(self, now: float) -> bool:
        return self.eligible_at is None or now >= self.eligible_at

    def ring_limit(self) -> int:
        if self.is_callback:
            return 1  # never two dials for one request
        limit = self.cfg.ring_at_once
        return 1 << 30 if limit is None else limit


@dataclass(slots=True, eq=False)
class OfferRecord:
    id: str
    call_id: str
    queue_id: str
    agent_id: str
    devices: tuple[str, ...]
    timer: Timer
