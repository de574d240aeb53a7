"""Events a call leg reports to the application (the B2BUA's half-calls)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sip.refer import ReferTo


@dataclass(frozen=True, slots=True, kw_only=True)
class Ringing:
    """The far end is alerting (18x); ``sdp`` is an early-media answer, if any."""

    status: int = 180
    sdp: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Answered:
    """The far end answered (2xx).

    ``needs_answer``: our INVITE had no offer (late offer, RFC 3261
    §13.2.1) and ``sdp`` is the peer's offer; the application must answer it
    with ``outgoing.ack(answer_sdp)`` (the ACK carries the answer).
    """

    sdp: bytes | None
    target: str = ""  # which fork answered (request URI)
    needs_answer: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Failed:
    """The call attempt ended without answer: busy, declined, timeout, cancelled."""

    status: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Ended:
    """An established call ended for a reason the application did not choose.

    ``by`` is "remote" (BYE, no ACK, the peer stopped answering) or "local"
    (the stack gave up, e.g. no answer to a late offer); ``reason`` is the
    true cause for the call record: "bye", "no ACK", "re-INVITE 481",
    "INFO timeout", "no SDP answer in ACK", ...
    """

    by: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancelled:
    """The caller gave up before the incoming leg was answered (CANCEL)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Acked:
    """The ACK for our 2xx arrived: the incoming leg is confirmed.

    ``sdp`` is the peer's answer when our 2xx carried the offer (the INVITE
    or re-INVITE had none: late offer, RFC 3261 §13.2.1), else None.
    """

    sdp: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReInvite:
    """The peer sent a re-INVITE (hold/unhold, codec change).

    The application must answer it with ``leg.answer_reinvite(event, ...)``.
    """

    sdp: bytes | None
    handle: object


@dataclass(frozen=True, slots=True, kw_only=True)
class Info:
    """An INFO request in the dialog (e.g. application/dtmf-relay)."""

    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Refer:
    """The peer asks to transfer the call (REFER in the dialog, RFC 3515).

    The application must answer it with ``leg.accept_refer(event)`` (202 and
    a :class:`~sip.refer.ReferNotifier` for the progress NOTIFYs) or
    ``leg.decline_refer(event, status)``.  ``referred_by`` is the
    Referred-By value, if any (RFC 3892)."""

    refer_to: ReferTo
    referred_by: str | None
    handle: object


LegEvent = Ringing | Answered | Failed | Ended | Cancelled | Acked | ReInvite | Info | Refer
Listener = Callable[[LegEvent], None]
