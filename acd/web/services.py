"""What the web app is given by the composition root: the contact centre,
the agent commands, the admin's operations (reload, media figures), the
sign-in (``auth``), the pages' live views, call-outs, the callback list, the contacts
directory and the store's read-back of an agent's recent calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from acd.calls.call import Call
from acd.calls.registry import CallRegistry
from acd.contact.agents import AgentCommands
from acd.contact.call_control import CallControl
from acd.contact.callback_list import CallbackList
from acd.contact.callout import Callouts
from acd.contact.centre import ContactCentre
from acd.contact.personal import Personal
from acd.store.recent import RecentCall
from acd.telephony.phone_tokens import PhoneTokens
from acd.web.auth import WebAuth
from acd.web.contacts import Directory
from acd.web.live import LiveView
from sip.transport_ws import WsTransport

RecentCalls = Callable[[str, str], Awaitable[list[RecentCall]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class WebServices:
    centre: ContactCentre
    commands: AgentCommands
    reload: Callable[[], list[str]]
    media_status: Callable[[], dict[str, Any]]
    auth: WebAuth
    live: LiveView
    callouts: Callouts
    registry: CallRegistry[Call]
    contacts: Directory
    recent: RecentCalls | None = None  # None: no store to read (tests with a fake one)
    metrics: Callable[[], bytes] = lambda: b""  # Prometheus text
    control: CallControl | None = None  # hold, transfer, consult, recording (O7)
    personal: Personal | None = None  # voicemail, forwarding, recordings (P4, O7)
    callbacks: CallbackList | None = None  # the callback list (B5)
    # SIP over WebSocket on the web port (RFC 7118): "ws" and/or "wss" -> transport.
    sip_websockets: dict[str, WsTransport] = field(default_factory=dict)
    # The browser phones' short-lived SIP credentials (POST /api/phone/token).
    phone_tokens: PhoneTokens = field(default_factory=PhoneTokens)
