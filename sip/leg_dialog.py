"""What both kinds of call leg do inside an established dialog (RFC 3261 §12-§15).

Theory of operation
-------------------
A leg reports :mod:`sip.leg_events` to one listener.  ``Ended``,
``Failed`` and ``Cancelled`` are *final*: each leg reports exactly one of
them (or none, when the application ended the leg itself with
``hangup()``/``reject()``), and drops its listener right after, so a
finished call is freed by reference counting.

A leg ends for reasons the application did not choose, and reports each
with ``Ended(by=..., reason=...)`` *before* it lets go of the listener:

* the peer sends BYE (``"bye"``);
* our 2xx is never ACKed within 64*T1 (``"no ACK"``, §13.3.1.4; we send BYE);
* a request we send in the dialog gets 481 or 408, or no response at all
  (timeout or transport error) - §12.2.1.2 and, for re-INVITE, §14.1
  (``"re-INVITE 408"``, ``"INFO timeout"``, ...);
* the ACK to a 2xx that carried our offer brings no answer (§13.2.1,
  ``"no SDP answer in ACK"``).

A REFER in the dialog (RFC 3515) is reported as :class:`Refer`; the
application accepts it (202 and a :class:`~sip.refer.ReferNotifier` that
sends the progress NOTIFYs in this dialog) or declines it.  A REFER nobody
answers is declined with 403 (the listener did not know it).

Timers are data: a leg arms named deadlines with ``ua.arm`` and the user
agent calls :meth:`DialogLeg.on_timer`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sip.dialog import Dialog, DialogState
from sip.errors import SipError
from sip.leg_events import (
    Acked,
    Cancelled,
    Ended,
    Failed,
    Info,
    LegEvent,
    Listener,
    Refer,
    ReInvite,
)
from sip.leg_timers import TIMER_2XX, TwoXxRetransmission
from sip.message import Request, Response, make_response
from sip.refer import ReferNotifier, parse_refer_to
from sip.transaction.base import ServerTransaction
from sip.transport import Target
from sip.ua import ALLOW_HEADER, UserAgent

log = logging.getLogger("jono.sip.legs")

SDP = "application/sdp"

ReInviteResult = Callable[[int, bytes | None], None]
"""Called with the final status of a re-INVITE we sent and the peer's SDP."""

_FINAL_EVENTS = (Ended, Failed, Cancelled)  # after these a leg reports nothing more


def ignore_event(event: LegEvent) -> None:
    pass


def ignore_response(response: Response | None, why: str) -> None:
    pass


@dataclass(eq=False, slots=True)
class _ReferHandle:
    request: Request
    txn: object
    answered: bool = False


def ends_dialog(response: Response | None) -> bool:
    """RFC 3261 §12.2.1.2: "If the response for a request within a dialog is a
    481 (Call/Transaction Does Not Exist) or a 408 (Request Timeout), the UAC
    SHOULD terminate the dialog.  A UAC SHOULD also terminate a dialog if no
    response at all is received for the request"."""
    return response is None or response.status in (408, 481)


class DialogLeg:
    """The in-dialog half shared by :class:`IncomingCall` and :class:`OutgoingCall`."""

    def __init__(self, ua: UserAgent, flow: Target, listener: Listener | None) -> None:
        self.ua = ua
        self.flow = flow
        self.listener: Listener = listener or ignore_event
        self.dialog: Dialog | None = None
        self.ended = False
        self._retransmit: TwoXxRetransmission | None = None
        self._two_xx: bytes = b""
        self._needs_ack_answer = False  # our 2xx carried the offer (§13.2.1)
        self._initial_2xx = False  # the 2xx being retransmitted answers the initial INVITE
        self._reinvite_pending = False
        self._holding: Target | None = None

    def _emit(self, event: LegEvent) -> None:
        try:
            self.listener(event)
        except Exception:
            log.exception("listener failed on %r", event)
        if isinstance(event, _FINAL_EVENTS):
            self._release_listener()

    def _release_listener(self) -> None:
        """Nothing more to report: drop the listener, which usually refers
        back to this leg, so the call's objects die by reference counting
        and never wait for (and lengthen) a full garbage collection."""
        self.listener = ignore_event

    @property
    def call_id(self) -> str:
        return self.dialog.call_id if self.dialog is not None else ""

    def _contact(self) -> str:
        return self.ua.contact(self.flow.transport)

    def _confirmed(self, dialog: Dialog, flow: Target) -> None:
        """The dialog exists: route its requests here and keep its TCP flow."""
        dialog.state = DialogState.CONFIRMED
        self.dialog = dialog
        self.flow = flow
        self.ua.register_dialog(dialog, self)
        self.ua.hold_flow(flow)
        self._holding = flow

    # -- timers ----------------------------------------------------------------
    def on_timer(self, name: str, now: float) -> None:
        if name == TIMER_2XX:
            self._retransmit_2xx(now)

    def _start_retransmission(
        self, response: Response, *, offer_in_2xx: bool, initial: bool
    ) -> None:
        config = self.ua.layer.config
        self._two_xx = response.encode()
        self._needs_ack_answer = offer_in_2xx
        self._initial_2xx = initial
        self._retransmit = TwoXxRetransmission.start(self.ua.now(), config.t1, config.t2)
        self.ua.arm(self, TIMER_2XX, config.t1)

    def _retransmit_2xx(self, now: float) -> None:
        machine = self._retransmit
        if machine is None or self.ended:
            return
        if not machine.fire(now):
            self._retransmit = None
            log.info("no ACK for 2xx on %s; ending the call", self.call_id)
            self._end("no ACK")
            return
        self.ua.transports.send(self._two_xx, self.flow)
        self.ua.arm(self, TIMER_2XX, machine.next_at - now)

    def _stop_retransmission(self) -> None:
        if self._retransmit is not None:
            self._retransmit = None
            self.ua.disarm(self, TIMER_2XX)

    # -- requests arriving in the dialog ------------------------------------------
    def on_dialog_request(self, request: Request, txn: object | None, source: Target) -> None:
        dialog = self.dialog
        assert dialog is not None
        method = request.method
        if method == "ACK":
            self._on_ack(request)
            return
        assert txn is not None
        if not dialog.check_remote_cseq(request):
            self.ua.respond(txn, request, 500, "Out of order CSeq", to_tag=dialog.local_tag)
            return
        if method == "BYE":
            self.ua.respond(txn, request, 200, to_tag=dialog.local_tag)
            self._end("bye", bye=False)
        elif method == "INVITE":
            # §14.2: "A UAS that receives a second INVITE before it sends the
            # final response to a first INVITE ... MUST return a 500";
            # one that receives an INVITE while its own is pending returns 491.
            if self._reinvite_pending:
                self.ua.respond(txn, request, 491, to_tag=dialog.local_tag)
                return
            dialog.update_target(request)
            self._reinvite_pending = True
            self._emit(ReInvite(sdp=request.body or None, handle=(request, txn)))
        elif method == "INFO":
            self.ua.respond(txn, request, 200, to_tag=dialog.local_tag)
            self._emit(Info(content_type=request.content_type, body=request.body))
        elif method == "OPTIONS":
            self.ua.respond(txn, request, 200, headers=(("Allow", ALLOW_HEADER),), to_tag=dialog.local_tag)
        elif method == "REFER":
            self._on_refer(request, txn)
        else:
            self.ua.respond(txn, request, 405, headers=(("Allow", ALLOW_HEADER),), to_tag=dialog.local_tag)

    def _on_ack(self, ack: Request) -> None:
        if self._retransmit is None:
            return  # a retransmitted ACK, or one for a 2xx we no longer resend
        self._stop_retransmission()
        answer = ack.body if ack.body and ack.content_type == SDP else None
        if self._needs_ack_answer and answer is None and self._initial_2xx:
            # RFC 3261 §13.2.1: "If the initial offer is in the first reliable
            # non-failure message from the UAS back to UAC, the answer MUST be
            # in the acknowledgement for that message."  Without it there is
            # no session to run.
            self._end("no SDP answer in ACK")
            return
        self._emit(Acked(sdp=answer if self._needs_ack_answer else None))

    # -- REFER (RFC 3515) ----------------------------------------------------------
    def _on_refer(self, request: Request, txn: object) -> None:
        assert self.dialog is not None
        tag = self.dialog.local_tag
        # RFC 3515 §2.4.2: "An agent responding to a REFER method MUST return a
        # 400 (Bad Request) if the request contained zero or more than one
        # Refer-To header field values."
        values = request.headers.get_all("Refer-To")
        if len(values) != 1:
            self.ua.respond(txn, request, 400, "Exactly One Refer-To", to_tag=tag)
            return
        try:
            refer_to = parse_refer_to(values[0])
        except SipError as err:
            self.ua.respond(txn, request, 400, f"Bad Refer-To ({err.reason})"[:60], to_tag=tag)
            return
        handle = _ReferHandle(request, txn)
        self._emit(Refer(
            refer_to=refer_to, referred_by=request.headers.get("Referred-By"), handle=handle,
        ))
        if not handle.answered:
            # §2.4.2: "If the approval sought above for a well-formed REFER
            # request is immediately denied, the UA MAY decline the request."
            self.decline_refer(Refer(refer_to=refer_to, referred_by=None, handle=handle), 403)

    def accept_refer(self, event: Refer) -> ReferNotifier:
        """202 Accepted and the notifier of the implicit subscription, which
        sends "100 Trying" at once (RFC 6665 §4.2.1.2: "Upon successfully
        accepting ... a subscription, notifiers MUST send a NOTIFY request
        immediately")."""
        handle = cast(_ReferHandle, event.handle)
        request = handle.request
        # RFC 4488 §4: a REFER-Recipient willing to work without the implicit
        # subscription "MUST insert the Refer-Sub header field set to false".
        no_sub = (request.headers.get("Refer-Sub") or "").strip().lower() == "false"
        headers: list[tuple[str, str]] = [("Contact", self._contact())]
        if no_sub:
            headers.append(("Refer-Sub", "false"))
        if not handle.answered and self.dialog is not None and not self.ended:
            handle.answered = True
            self.ua.respond(
                handle.txn, request, 202, headers=tuple(headers), to_tag=self.dialog.local_tag
            )
        notifier = ReferNotifier(self, request.cseq.number, subscribed=not no_sub)
        notifier.progress(100)
        return notifier

    def decline_refer(self, event: Refer, status: int = 603, reason: str | None = None) -> None:
        handle = cast(_ReferHandle, event.handle)
        if handle.answered or self.dialog is None:
            return
        handle.answered = True
        self.ua.respond(handle.txn, handle.request, status, reason, to_tag=self.dialog.local_tag)

    def answer_reinvite(self, event: ReInvite, status: int, sdp: bytes | None = None) -> None:
        """Answer a :class:`ReInvite` (2xx with our SDP, or an error).

        When the re-INVITE carried no offer (``event.sdp`` is None), a 2xx
        must carry ours and the answer arrives as ``Acked(sdp=...)``."""
        request, txn = cast(tuple[Request, ServerTransaction], event.handle)
        if self.dialog is None or self.ended:
            return
        self._reinvite_pending = False
        headers: list[tuple[str, str]] = [("Contact", self._contact())]
        if sdp:
            headers.append(("Content-Type", SDP))
        response = make_response(
            request, status, to_tag=self.dialog.local_tag, headers=headers, body=sdp or b""
        )
        self.ua.send_response(txn, response)
        if 200 <= status < 300:
            offer_in_2xx = event.sdp is None and bool(sdp)
            self._start_retransmission(response, offer_in_2xx=offer_in_2xx, initial=False)

    # -- requests we send in the dialog ------------------------------------------
    def _send_in_dialog(
        self, method: str, body: bytes = b"", content_type: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Request | None:
        if self.dialog is None:
            return None
        return self.dialog.create_request(
            method,
            via=self.ua.via(self.flow.transport),
            # NOTIFY is a target refresh request too (RFC 6665 §4.1.3).
            contact=self._contact() if method in ("INVITE", "NOTIFY") else None,
            body=body,
            content_type=content_type,
            extra=headers,
        )

    def send_in_dialog(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        on_response: Callable[[Response | None, str], None] | None = None,
    ) -> bool:
        """Send a request in the dialog whose failure does not end the call
        (a NOTIFY of a REFER's subscription); False when the dialog is over."""
        if self.ended:
            return False
        request = self._send_in_dialog(method, body, content_type, headers)
        if request is None:
            return False
        self.ua.send_request(request, self.flow, on_response or ignore_response)
        return True

    def hangup(self) -> None:
        """End an established dialog with BYE (§15.1.1).  The application
        chose this: no event follows."""
        if self.ended or self.dialog is None:
            return
        request = self._send_in_dialog("BYE")
        self._finish()
        self._release_listener()
        if request is not None:
            self.ua.send_request(request, self.flow, ignore_response)

    def _end(self, reason: str, *, by: str = "remote", bye: bool = True) -> None:
        """The dialog ends for a reason the application did not choose: tell
        the listener first (exactly once), then send BYE if asked."""
        if self.ended:
            return
        request = self._send_in_dialog("BYE") if bye else None
        self._finish()
        self._emit(Ended(by=by, reason=reason))
        if request is not None:
            self.ua.send_request(request, self.flow, ignore_response)

    def send_info(self, body: bytes, content_type: str) -> None:
        if self.ended:
            return
        request = self._send_in_dialog("INFO", body, content_type)
        if request is None:
            return

        def on_response(response: Response | None, why: str) -> None:
            if response is not None and response.status < 200:
                return
            if ends_dialog(response):
                self._end(f"INFO {response.status if response is not None else why}")

        self.ua.send_request(request, self.flow, on_response)

    def reinvite(self, sdp: bytes | None, on_result: ReInviteResult) -> None:
        """Send a re-INVITE (hold/unhold); ``on_result(status, sdp)`` on its final answer."""
        request = None if self.ended else self._send_in_dialog("INVITE", sdp or b"", SDP if sdp else None)
        if request is None:
            on_result(481, None)
            return
        self._reinvite_pending = True

        def on_response(response: Response | None, why: str) -> None:
            if response is not None and response.status < 200:
                return
            self._reinvite_pending = False
            if response is None:
                on_result(408, None)
            else:
                if response.status < 300 and self.dialog is not None and not self.ended:
                    self.dialog.update_target(response)
                    ack = self.dialog.create_request(
                        "ACK", via=self.ua.via(self.flow.transport), cseq=request.cseq.number
                    )
                    self.ua.send_stateless(ack, self.flow)
                on_result(response.status, response.body or None)
            # §14.1: "If the response to a re-INVITE is a 481 ..., or a 408 ...,
            # or no response at all is received for the re-INVITE ..., the UAC
            # will terminate the dialog."
            if ends_dialog(response):
                what = response.status if response is not None else why
                self._end(f"re-INVITE {what}", bye=response is None or response.status != 481)

        self.ua.send_request(request, self.flow, on_response)

    def _finish(self) -> None:
        self.ended = True
        self._stop_retransmission()
        if self.dialog is not None:
            self.dialog.state = DialogState.TERMINATED
            self.ua.forget_dialog(self.dialog)
        if self._holding is not None:
            self.ua.release_flow(self._holding)
            self._holding = None
