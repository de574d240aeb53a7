"""What the web app is given by the composition root: the contact centre,
the agent commands, and the admin's operations (reload, media figures)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from acd.contact.agents import AgentCommands
from acd.contact.centre import ContactCentre
from sip.transport_ws import WsTransport


@dataclass(frozen=True, slots=True, kw_only=True)
class WebServices:
    centre: ContactCentre
    commands: AgentCommands
    reload: Callable[[], list[str]]
    media_status: Callable[[], dict[str, Any]]
    metrics: Callable[[], bytes] = lambda: b""
    # SIP over WebSocket on the web port (RFC 7118): "ws" and/or "wss" -> transport.
    sip_websockets: dict[str, WsTransport] = field(default_factory=dict)
