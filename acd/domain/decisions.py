"""What the engine tells its adapter to do, and what it records (S2).

Every public engine method returns ``list[Decision]`` in the order the
adapter must apply them. Decisions are frozen, slotted, keyword-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from acd.domain.agent_state import AgentState

QueueEventKind = Literal[
    "entered",
    "offered",
    "rejected",
    "no_answer",
    "unreachable",
    "answered",
    "abandoned",
    "overflowed",
    "exited_by_key",
    "callback_requested",
    "callback_attempt",
    "callback_completed",
    "callback_expired",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ring:
    """Ring every listed device of one agent at once (D7); first answer wins."""

    offer_id: str
    call_id: str
    queue_id: str
    agent_id: str
    devices: tuple[str, ...]
    ring_time: float
    channel: str = "voice"  # "callback": a request whose customer Jono calls back

    def __post_init__(self) -> None:
        if not self.devices:
            raise ValueError(f"offer {self.offer_id}: Ring needs at least one device")


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRing:
    """Stop ringing every device of an offer.

    Reasons: ``ring_timeout``, ``answered_elsewhere``, ``caller_left``,
    ``max_wait``, ``exit_key``, ``agent_paused``, ``agent_logged_out``,
    ``stale_offer`` (the offer was already over when the answer came: hang
    up that leg).
    """

    offer_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Bridge:
    """Connect the caller to the device that answered."""

    call_id: str
    agent_id: str
    offer_id: str
    device_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Overflow:
    """The caller leaves the queue; send it to ``destination`` (None: hang up)."""

    call_id: str
    queue_id: str
    reason: str
    destination: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged:
    """D11: every agent state change, with its time and reason."""

    agent_id: str
    old: AgentState
    new: AgentState
    reason: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEvent:
    """One line of the queue event log (S2)."""

    kind: QueueEventKind
    call_id: str
    queue_id: str
    agent_id: str | None
    at: float
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedOut:
    """The engine logged an agent out by itself (D10); tell the agent."""

    agent_id: str
    reason: str = "auto_logout"
    at: float = 0.0


Decision = Ring | CancelRing | Bridge | Overflow | AgentStateChanged | QueueEvent | LoggedOut
