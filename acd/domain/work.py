"""Channel-neutral work: what occupies an agent, whatever the channel.

Theory of operation
-------------------
An agent has one state (D11) across voice, callback and chat. What keeps
an agent busy is a *work item*: a queued call the engine offered (voice),
and, outside the queues, a call the agent makes or takes directly
(internal, outbound, a direct inbound call), later a callback or a chat.
The engine learns of work it did not offer through
``AcdEngine.agent_engaged`` / ``agent_released``; while an agent holds any
work item it is not offered queue calls, and its state shows ``on_call``
with the item's :data:`CallKind` (D11 "on call (inbound, outbound,
internal)").

Capacity says how many items of a channel an agent takes at once: one
voice call (two voice items never overlap by offer), several chats (C1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Channel = Literal["voice", "callback", "chat"]
CHANNELS: tuple[Channel, ...] = ("voice", "callback", "chat")

#: D11: why an agent is on a call. ``inbound``: a queue call or a direct
#: call from outside; ``outbound``: a call the agent placed to a number;
#: ``internal``: a call between the organisation's own users (O6).
CallKind = Literal["inbound", "outbound", "internal"]
CALL_KINDS: tuple[CallKind, ...] = ("inbound", "outbound", "internal")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkItem:
    """One piece of work an agent is busy with."""

    id: str
    channel: Channel = "voice"
    kind: CallKind = "internal"
    queue_id: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a work item needs an id")
        if self.channel not in CHANNELS:
            raise ValueError(f"channel {self.channel!r} must be one of {CHANNELS}")
        if self.kind not in CALL_KINDS:
            raise ValueError(f"kind {self.kind!r} must be one of {CALL_KINDS}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Capacity:
    """How many items of each channel an agent takes at once (C1: chats)."""

    voice: int = 1
    callback: int = 1
    chat: int = 3

    def of(self, channel: Channel) -> int:
        return int(getattr(self, channel))

    def __post_init__(self) -> None:
        for channel in CHANNELS:
            if self.of(channel) < 0:
                raise ValueError(f"capacity for {channel} must be >= 0")
