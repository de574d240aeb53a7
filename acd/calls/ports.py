"""What the calls layer needs from SIP legs and where it writes records.

Calls are written against these small interfaces rather than the concrete
``sip.legs`` classes, so the composition root hands in the real legs (made
by :class:`acd.telephony.legs.SipLegs`) or scripted fakes for unit tests.
The real classes satisfy them structurally. Media is the real engine in
both cases (``media.engine.MediaEngine`` on loopback is cheap and exact).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sip.leg_events import Listener, Refer, ReInvite
from sip.legs import Credentials, ReInviteResult
from sip.message import Request
from sip.refer import ReferNotifier
from sip.transport import Target


class SipLeg(Protocol):
    """What both halves of a B2BUA call can do once established."""

    listener: Listener

    @property
    def call_id(self) -> str: ...

    def hangup(self) -> None: ...

    def send_info(self, body: bytes, content_type: str) -> None: ...

    def reinvite(self, sdp: bytes | None, on_result: ReInviteResult) -> None: ...

    def answer_reinvite(self, event: ReInvite, status: int, sdp: bytes | None = None) -> None: ...

    def accept_refer(self, event: Refer) -> ReferNotifier: ...

    def decline_refer(self, event: Refer, status: int = 603, reason: str | None = None) -> None: ...


class IncomingLeg(SipLeg, Protocol):
    """A phone or trunk calling in (``sip.legs.IncomingCall``)."""

    request: Request
    answered: bool
    finalised: bool

    @property
    def sdp(self) -> bytes | None: ...

    @property
    def max_forwards(self) -> int: ...

    def ring(self, sdp: bytes | None = None) -> None: ...

    def answer(self, sdp: bytes | None, headers: Sequence[tuple[str, str]] = ()) -> None: ...

    def reject(
        self, status: int = 486, reason: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None: ...


class OutgoingLeg(SipLeg, Protocol):
    """A forked INVITE to one or more contacts (``sip.legs.OutgoingCall``)."""

    answered: bool

    def start(self) -> None: ...

    def cancel(self) -> None: ...

    def ack(self, sdp: bytes) -> None:
        """Late offer: the answer to the offer in the peer's 2xx."""


class LegFactory(Protocol):
    """Makes SIP legs; the real one wraps the user agent (acd.telephony.legs)."""

    def incoming(self, request: Request, txn: object, source: Target) -> IncomingLeg: ...

    def outgoing(
        self,
        targets: Sequence[tuple[str, Target]],
        *,
        from_uri: str,
        to_uri: str,
        from_display: str | None = None,
        sdp: bytes | None = None,
        headers: Sequence[tuple[str, str]] = (),
        credentials: Credentials | None = None,
        max_forwards: int = 70,
    ) -> OutgoingLeg: ...


class RecordSink(Protocol):
    """Where a finished call writes its record (the store)."""

    def add_cdr(self, **fields: object) -> None: ...
