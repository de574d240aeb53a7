"""The pure ACD domain: no I/O, no asyncio, time passed in.

Entry point: :class:`AcdEngine`. Feed it events, carry out the decisions it
returns, call :meth:`AcdEngine.tick` at :meth:`AcdEngine.next_deadline`.
"""

from acd.domain.agent_state import AgentState
from acd.domain.config import AgentConfig, Device, MemberConfig, QueueConfig
from acd.domain.decisions import (
    AgentStateChanged,
    Bridge,
    CancelRing,
    Decision,
    LoggedOut,
    Overflow,
    QueueEvent,
    Ring,
)
from acd.domain.engine import AcdEngine
from acd.domain.errors import (
    AcdError,
    ConfigError,
    IllegalTransition,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from acd.domain.ewt import announcement_for, estimate_wait
from acd.domain.repository import AgentRepository, InMemoryAgentRepository
from acd.domain.snapshots import AgentSnapshot, QueueSnapshot, WaitingCaller
from acd.domain.work import CALL_KINDS, CallKind, Capacity, Channel, WorkItem

__all__ = [
    "CALL_KINDS",
    "AcdEngine",
    "AcdError",
    "AgentConfig",
    "AgentRepository",
    "AgentSnapshot",
    "AgentState",
    "AgentStateChanged",
    "Bridge",
    "CallKind",
    "CancelRing",
    "Capacity",
    "Channel",
    "ConfigError",
    "Decision",
    "Device",
    "IllegalTransition",
    "InMemoryAgentRepository",
    "LoggedOut",
    "MemberConfig",
    "Overflow",
    "QueueConfig",
    "QueueEvent",
    "QueueSnapshot",
    "Ring",
    "UnknownAgent",
    "UnknownCall",
    "UnknownQueue",
    "WaitingCaller",
    "WorkItem",
    "announcement_for",
    "estimate_wait",
]
