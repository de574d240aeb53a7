"""Inbound dispatch: one table from an out-of-dialog request to its handler.

This is the user agent's :class:`~sip.ua.RequestHandler`. REGISTER goes to
the registrar; an INVITE is identified (a trunk by its address, a phone by
digest, acd.telephony.access), then sorted by what was dialled:

* ``feature``: an agent's feature code (``*21`` log in, ...; D1);
* ``extension``: a user's extension or name, or the echo code (P4);
* ``number``: anything else, looked up among the plan's numbers (N1).

The application registers one handler per kind at start-up
(:meth:`InboundDispatch.handle`) and :meth:`InboundDispatch.check_complete`
refuses to start with a kind unhandled. Requests outside a dialog other
than these get 481 (RFC 3261 §12.2.2).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from acd.config import FeatureCodes
from acd.telephony.access import Access, Caller
from acd.telephony.directory import DeviceDirectory
from acd.telephony.registrar import Registrar
from sip.errors import SipError
from sip.headers import SipUri
from sip.message import Request
from sip.transport import Target
from sip.ua import UserAgent

InviteKind = Literal["feature", "extension", "number"]
INVITE_KINDS: tuple[InviteKind, ...] = ("feature", "extension", "number")
# Feature codes dialled as they are, then those followed by a target (*72 1003).
AGENT_CODES = ("login", "logout", "pause", "unpause", "voicemail", "forward_off")
PREFIX_CODES = ("forward_on",)
SubscribeHandler = Callable[[UserAgent, Access, Request, object, Target], None]


@dataclass(frozen=True, slots=True)
class InboundPlan:
    """What dispatching needs from the running dial plan (swapped on reload)."""

    access: Access
    directory: DeviceDirectory
    feature_codes: FeatureCodes
    # Trunk name -> the user part of the Contact Jono registered at it.
    trunk_contacts: Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class InboundInvite:
    """A new call, identified and sorted."""

    kind: InviteKind
    request: Request
    txn: object
    source: Target
    caller: Caller
    dialled: str  # the number or code dialled (empty when the URI has no user)
    # login, logout, pause, unpause, voicemail, forward_on, forward_off
    feature: str | None = None

    def request_hops(self) -> int:
        """Max-Forwards of the INVITE (RFC 3261 §20.22; 70 when absent)."""
        value = (self.request.headers.get("Max-Forwards") or "").strip()
        return int(value) if value.isascii() and value.isdigit() else 70


InviteHandler = Callable[[InboundInvite], None]


class InboundDispatch:
    def __init__(self, registrar: Registrar, plan: InboundPlan | None = None) -> None:
        self.registrar = registrar
        self.plan = plan
        self.invites: dict[InviteKind, InviteHandler] = {}
        self.subscribe_handler: SubscribeHandler | None = None
        self._methods: dict[str, Callable[[UserAgent, Request, object, Target], None]] = {
            "REGISTER": self._register,
            "INVITE": self._invite,
            "SUBSCRIBE": self._subscribe,
            "REFER": self._refer,
        }

    def handle(self, kind: InviteKind, handler: InviteHandler) -> None:
        self.invites[kind] = handler

    def check_complete(self) -> None:
        missing = [kind for kind in INVITE_KINDS if kind not in self.invites]
        if missing:
            raise RuntimeError(f"no handler for inbound calls of kind {', '.join(missing)}")

    # -- sip.ua.RequestHandler -------------------------------------------------
    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        method = self._methods.get(request.method)
        if method is None:
            # BYE/INFO/... outside a dialog (RFC 3261 §12.2.2).
            ua.respond(txn, request, 481)
        elif self.plan is None:
            ua.respond(txn, request, 503)  # not configured yet
        else:
            method(ua, request, txn, source)

    def _register(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        plan = self.plan
        assert plan is not None
        self.registrar.register(ua, plan.access, plan.directory, request, txn, source)

    def _subscribe(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        plan = self.plan
        assert plan is not None
        if self.subscribe_handler is None:
            ua.respond(txn, request, 489, headers=(("Allow-Events", ""),))
            return
        self.subscribe_handler(ua, plan.access, request, txn, source)

    def _refer(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        # RFC 3515 §2.4.2: "If the approval ... is immediately denied, the UA
        # MAY decline the request": Jono transfers calls it is part of only.
        ua.respond(txn, request, 403, "Transfer Needs A Call")

    def _invite(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        plan = self.plan
        assert plan is not None
        caller = plan.access.identify(ua, request, txn, source, time.time())
        if caller is None:
            return  # challenged (401)
        dialled = request_user(request)
        if dialled is None:
            # RFC 3261 §21.4.19 416 Unsupported URI Scheme.
            ua.respond(txn, request, 416)
            return
        if caller.kind == "trunk" and dialled == plan.trunk_contacts(caller.name):
            # A registered trunk calls the Contact we registered (P2); the
            # number the caller dialled is in To.
            dialled = to_user(request) or dialled
        kind: InviteKind
        feature = self._feature(caller, dialled)
        if feature is not None:
            kind = "feature"
        elif plan.directory.user_for(dialled) is not None or dialled == plan.feature_codes.echo:
            kind = "extension"
        else:
            kind = "number"
        self.invites[kind](InboundInvite(kind, request, txn, source, caller, dialled, feature))

    def _feature(self, caller: Caller, dialled: str) -> str | None:
        if caller.kind != "user" or self.plan is None:
            return None
        codes = self.plan.feature_codes
        for action in AGENT_CODES:
            if dialled == getattr(codes, action):
                return action
        for action in PREFIX_CODES:
            if dialled.startswith(getattr(codes, action)):
                return action
        return None


def request_user(request: Request) -> str | None:
    """The user part of the Request-URI (the dialled number); None if unparsable."""
    try:
        return SipUri.parse(request.uri).user or ""
    except SipError:
        return None


def to_user(request: Request) -> str | None:
    try:
        return request.to.sip_uri.user
    except SipError:
        return None
