"""Call legs: the B2BUA's API to the application.

An :class:`IncomingCall` is the UAS half of a call (a phone or trunk
calling in); it can ring, be answered, rejected or redirected.  An
:class:`OutgoingCall` is the UAC half; it forks to several contacts at
once, the first 2xx wins and the other branches are cancelled.  Both
report :mod:`sip.leg_events` to one listener and end the dialog with BYE.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from sip.dialog import Dialog, DialogState, new_call_id, new_tag
from sip.headers import NameAddr
from sip.leg_events import (
    Acked,
    Answered,
    Cancelled,
    Ended,
    Failed,
    Info,
    LegEvent,
    Listener,
    ReInvite,
    Ringing,
)
from sip.message import Headers, Request, Response, make_response
from sip.transaction.base import ServerTransaction
from sip.transport import Target
from sip.ua import ALLOW_HEADER, UserAgent

log = logging.getLogger("jono.sip.legs")

SDP = "application/sdp"


ReInviteResult = Callable[[int, bytes | None], None]
"""Called with the final status of a re-INVITE we sent and the peer's SDP."""


def _ignore(event: LegEvent) -> None:
    pass


_FINAL_EVENTS = (Ended, Failed, Cancelled)  # after these a leg reports nothing more


class _Retransmitter:
    """RFC 3261 §13.3.1.4: the UAS core retransmits a 2xx until the ACK.

    "The 2xx response is passed to the transport with an interval that
    starts at T1 seconds and doubles for each retransmission until it
    reaches T2 seconds ... If the server retransmits the 2xx response for
    64*T1 seconds without receiving an ACK, the dialog is confirmed, but the
    session SHOULD be terminated."
    """

    def __init__(self, leg: _DialogLeg, response: Response, t1: float, t2: float) -> None:
        self.leg = leg
        self.data = response.encode()
        self.interval = t1
        self.t2 = t2
        self.deadline = asyncio.get_running_loop().time() + 64 * t1
        self.handle: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            t1, self._fire
        )

    def _fire(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() >= self.deadline:
            self.handle = None
            self.leg._ack_timeout()
            return
        self.leg.ua.transports.send(self.data, self.leg.flow)
        self.interval = min(self.interval * 2, self.t2)
        self.handle = loop.call_later(self.interval, self._fire)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None


class _DialogLeg:
    """What both kinds of leg do inside an established dialog (§12.2, §15)."""

    def __init__(self, ua: UserAgent, flow: Target, listener: Listener | None) -> None:
        self.ua = ua
        self.flow = flow
        self.listener: Listener = listener or _ignore
        self.dialog: Dialog | None = None
        self.ended = False
        self._retransmitter: _Retransmitter | None = None
        self._reinvite_pending = False

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
        self.listener = _ignore

    @property
    def call_id(self) -> str:
        return self.dialog.call_id if self.dialog is not None else ""

    def _contact(self) -> str:
        return self.ua.contact(self.flow.transport)

    # -- requests arriving in the dialog ------------------------------------
    def on_dialog_request(self, request: Request, txn: object | None, source: Target) -> None:
        dialog = self.dialog
        assert dialog is not None
        method = request.method
        if method == "ACK":
            if self._retransmitter is not None:
                self._retransmitter.stop()
                self._retransmitter = None
                self._emit(Acked())
            return
        assert txn is not None
        if not dialog.check_remote_cseq(request):
            self.ua.respond(txn, request, 500, "Out of order CSeq", to_tag=dialog.local_tag)
            return
        if method == "BYE":
            self.ua.respond(txn, request, 200, to_tag=dialog.local_tag)
            self._finish()
            self._emit(Ended(by="remote", reason="bye"))
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
        else:
            self.ua.respond(txn, request, 405, headers=(("Allow", ALLOW_HEADER),), to_tag=dialog.local_tag)

    def answer_reinvite(self, event: ReInvite, status: int, sdp: bytes | None = None) -> None:
        """Answer a :class:`ReInvite` (2xx with our SDP, or an error)."""
        request, txn = cast(tuple[Request, ServerTransaction], event.handle)
        assert self.dialog is not None
        self._reinvite_pending = False
        headers: list[tuple[str, str]] = [("Contact", self._contact())]
        if sdp:
            headers.append(("Content-Type", SDP))
        response = make_response(
            request, status, to_tag=self.dialog.local_tag, headers=headers, body=sdp or b""
        )
        self.ua.send_response(txn, response)
        if 200 <= status < 300:
            self._start_retransmitter(response)

    def _start_retransmitter(self, response: Response) -> None:
        if self._retransmitter is not None:
            self._retransmitter.stop()
        timers = self.ua.layer.config
        self._retransmitter = _Retransmitter(self, response, timers.t1, timers.t2)

    def _ack_timeout(self) -> None:
        self._retransmitter = None
        log.info("no ACK for 2xx on %s; ending the call", self.call_id)
        self.hangup()
        self._emit(Ended(by="remote", reason="no ACK"))

    # -- requests we send in the dialog --------------------------------------
    def _send_in_dialog(
        self, method: str, body: bytes = b"", content_type: str | None = None
    ) -> Request | None:
        if self.dialog is None:
            return None
        request = self.dialog.create_request(
            method,
            via=self.ua.via(self.flow.transport),
            contact=self._contact() if method == "INVITE" else None,
            body=body,
            content_type=content_type,
        )
        return request

    def hangup(self) -> None:
        """End an established dialog with BYE (§15.1.1)."""
        if self.ended or self.dialog is None:
            return
        request = self._send_in_dialog("BYE")
        self._finish()
        self._release_listener()
        if request is not None:
            self.ua.send_request(request, self.flow, lambda r, why: None)

    def send_info(self, body: bytes, content_type: str) -> None:
        request = self._send_in_dialog("INFO", body, content_type)
        if request is not None:
            self.ua.send_request(request, self.flow, lambda r, why: None)

    def reinvite(self, sdp: bytes | None, on_result: ReInviteResult) -> None:
        """Send a re-INVITE (hold/unhold); ``on_result(status, sdp)`` on its final answer."""
        request = self._send_in_dialog("INVITE", sdp or b"", SDP if sdp else None)
        if request is None:
            on_result(481, None)
            return
        self._reinvite_pending = True

        def on_response(response: Response | None, why: str) -> None:
            if response is None:
                self._reinvite_pending = False
                on_result(408, None)
                return
            if response.status < 200:
                return
            self._reinvite_pending = False
            if response.status < 300 and self.dialog is not None:
                self.dialog.update_target(response)
                ack = self.dialog.create_request(
                    "ACK", via=self.ua.via(self.flow.transport), cseq=request.cseq.number
                )
                self.ua.send_stateless(ack, self.flow)
            on_result(response.status, response.body or None)

        self.ua.send_request(request, self.flow, on_response)

    def _finish(self) -> None:
        self.ended = True
        if self._retransmitter is not None:
            self._retransmitter.stop()
            self._retransmitter = None
        if self.dialog is not None:
            self.dialog.state = DialogState.TERMINATED
            self.ua.forget_dialog(self.dialog)


class IncomingCall(_DialogLeg):
    """The UAS half of a call, made from an initial INVITE."""

    def __init__(
        self, ua: UserAgent, request: Request, txn: object, source: Target,
        listener: Listener | None = None,
    ) -> None:
        super().__init__(ua, source, listener)
        self.request = request
        self.txn = txn
        self.local_tag = new_tag()
        self.answered = False
        self.finalised = False
        ua.cancel_listeners[id(txn)] = self._on_cancel

    @property
    def call_id(self) -> str:
        return self.request.call_id

    @property
    def sdp(self) -> bytes | None:
        return self.request.body if self.request.content_type == SDP else None

    def _respond(
        self, status: int, reason: str | None = None, body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
    ) -> Response:
        extra = list(headers)
        if status > 100 and status < 300:
            extra.append(("Contact", self._contact()))
        if body:
            extra.append(("Content-Type", SDP))
        response = make_response(
            self.request, status, reason, to_tag=self.local_tag, headers=extra, body=body
        )
        self.ua.send_response(self.txn, response)
        return response

    def ring(self, sdp: bytes | None = None) -> None:
        """180 Ringing, or 183 Session Progress with early media when ``sdp`` is given."""
        if self.finalised:
            return
        self._respond(183 if sdp else 180, body=sdp or b"")

    def answer(self, sdp: bytes | None, headers: Sequence[tuple[str, str]] = ()) -> None:
        """Send 200 OK; the dialog is confirmed and the 2xx retransmitted until ACK."""
        if self.finalised:
            return
        self.finalised = self.answered = True
        self._drop_cancel_listener()
        response = self._respond(200, body=sdp or b"", headers=headers)
        self.dialog = Dialog.from_uas(self.request, self.local_tag)
        self.dialog.state = DialogState.CONFIRMED
        self.ua.register_dialog(self.dialog, self)
        self._start_retransmitter(response)

    def reject(
        self, status: int = 486, reason: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        if self.finalised:
            return
        self.finalised = True
        self.ended = True
        self._drop_cancel_listener()
        self._respond(status, reason, headers=headers)
        if status != 487:  # a CANCEL still reports Cancelled after its 487
            self._release_listener()

    def redirect(self, contacts: Sequence[str], status: int = 302) -> None:
        """3xx with the given Contact URIs (§8.3)."""
        self.reject(status, headers=[("Contact", f"<{uri}>") for uri in contacts])

    def hangup(self, status: int = 480) -> None:
        """BYE when answered; before that, a final error response."""
        if not self.answered:
            self.reject(status)
            return
        super().hangup()

    def _on_cancel(self, cancel: Request) -> None:
        # §9.2: "the UAS ... SHOULD respond to the INVITE with a 487".
        if self.finalised:
            return
        self.reject(487)
        self._emit(Cancelled())

    def _drop_cancel_listener(self) -> None:
        self.ua.cancel_listeners.pop(id(self.txn), None)


@dataclass(eq=False)
class _Branch:
    request: Request
    target: Target
    txn: object | None = None
    provisional: bool = False
    final: int | None = None
    cancel_pending: bool = False
    auth_tried: bool = False
    dialog: Dialog | None = None
    ack: Request | None = None
    extra: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    username: str
    password: str


class OutgoingCall(_DialogLeg):
    """The UAC half of a call; forks one INVITE to each target at once (§16.6-like)."""

    def __init__(
        self,
        ua: UserAgent,
        targets: Sequence[tuple[str, Target]],
        *,
        from_uri: str,
        to_uri: str,
        from_display: str | None = None,
        sdp: bytes | None = None,
        headers: Sequence[tuple[str, str]] = (),
        credentials: Credentials | None = None,
        listener: Listener | None = None,
    ) -> None:
        first = targets[0][1] if targets else Target("udp", "127.0.0.1", 5060)
        super().__init__(ua, first, listener)
        self._call_id = new_call_id(ua.public_host or "jono")
        self.from_tag = new_tag()
        self.from_addr = str(NameAddr(display=from_display, uri=from_uri, params={"tag": self.from_tag}))
        self.to_uri = to_uri
        self.sdp = sdp
        self.headers = list(headers)
        self.credentials = credentials
        self.branches = [_Branch(self._invite(uri, target, 1), target) for uri, target in targets]
        self.answered = False
        self.failed = False
        self.cancelled = False
        self._ringing_sent = False

    @property
    def call_id(self) -> str:
        return self._call_id

    def _invite(self, uri: str, target: Target, cseq: int, extra: Sequence[tuple[str, str]] = ()) -> Request:
        h = Headers()
        h.add("Via", self.ua.via(target.transport))
        h.add("Max-Forwards", "70")
        h.add("From", self.from_addr)
        h.add("To", f"<{self.to_uri}>")
        h.add("Call-ID", self._call_id)
        h.add("CSeq", f"{cseq} INVITE")
        h.add("Contact", self.ua.contact(target.transport))
        h.add("Allow", ALLOW_HEADER)
        for name, value in (*self.headers, *extra):
            h.add(name, value)
        if self.sdp:
            h.add("Content-Type", SDP)
        return Request(method="INVITE", uri=uri, headers=h, body=self.sdp or b"")

    def start(self) -> None:
        if not self.branches:
            self.failed = True
            self._emit(Failed(status=480, reason="no reachable contact"))
            return
        for branch in self.branches:
            self._send_branch(branch)

    def _send_branch(self, branch: _Branch) -> None:
        def on_response(response: Response | None, why: str) -> None:
            self._on_branch_response(branch, response, why)

        branch.txn = self.ua.send_request(branch.request, branch.target, on_response)

    def cancel(self) -> None:
        """Give up before answer: CANCEL every ringing branch (§9.1)."""
        if self.answered or self.cancelled:
            return
        self.cancelled = True
        for branch in self.branches:
            self._cancel_branch(branch)

    def hangup(self) -> None:
        if self.answered:
            super().hangup()
        else:
            self.cancel()

    def _cancel_branch(self, branch: _Branch) -> None:
        if branch.final is not None:
            return
        # §9.1: "If no provisional response has been received, the CANCEL
        # request MUST NOT be sent; rather, the client MUST wait for the
        # arrival of a provisional response before sending the request."
        if not branch.provisional:
            branch.cancel_pending = True
            return
        invite = branch.request
        h = Headers()
        # "The CANCEL ... Request-URI, Call-ID, To, the numeric part of CSeq,
        # and From header fields ... MUST be identical to those in the request
        # being cancelled, including tags.  A CANCEL constructed by a client
        # MUST have only a single Via header field value matching the top Via
        # value in the request being cancelled."
        h.add("Via", invite.headers.values("Via")[0])
        h.add("Max-Forwards", "70")
        for name in ("From", "To", "Call-ID"):
            h.add(name, invite.headers.get(name) or "")
        h.add("CSeq", f"{invite.cseq.number} CANCEL")
        for route in invite.headers.values("Route"):
            h.add("Route", route)
        cancel = Request(method="CANCEL", uri=invite.uri, headers=h)
        self.ua.send_request(cancel, branch.target, lambda r, why: None)
        # §9.1: "If there is no final response for the original request in
        # 64*T1 seconds ..., the client SHOULD then consider the original
        # transaction cancelled and SHOULD destroy the client transaction".
        asyncio.get_running_loop().call_later(
            64 * self.ua.layer.config.t1, self._abandon_branch, branch
        )

    def _abandon_branch(self, branch: _Branch) -> None:
        if branch.final is None and branch.txn is not None:
            self.ua.terminate(branch.txn)
            branch.final = 487
            self._check_all_failed()

    def _on_branch_response(self, branch: _Branch, response: Response | None, why: str) -> None:
        if response is None:
            if branch.final is None:
                branch.final = 408 if why == "timeout" else 503
                self._check_all_failed()
            return
        status = response.status
        if status < 200:
            if status > 100:
                branch.provisional = True
                if branch.cancel_pending or self.answered:
                    branch.cancel_pending = False
                    self._cancel_branch(branch)
                elif not self.cancelled:
                    sdp = response.body if response.content_type == SDP and response.body else None
                    if not self._ringing_sent or sdp:
                        self._ringing_sent = True
                        self._emit(Ringing(status=status, sdp=sdp))
            elif branch.cancel_pending:
                branch.provisional = True
                branch.cancel_pending = False
                self._cancel_branch(branch)
            return
        if status < 300:
            self._on_2xx(branch, response)
            return
        if status in (401, 407) and self._retry_with_auth(branch, response):
            return
        branch.final = status
        self._check_all_failed()

    def _retry_with_auth(self, branch: _Branch, response: Response) -> bool:
        from sip.auth import answer_challenge

        if self.credentials is None or branch.auth_tried or self.cancelled:
            return False
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        auth_name = "Authorization" if response.status == 401 else "Proxy-Authorization"
        challenge = response.headers.get(header)
        if challenge is None:
            return False
        value = answer_challenge(
            challenge, "INVITE", branch.request.uri, self.credentials.username,
            self.credentials.password, cnonce=new_tag(),
        )
        branch.auth_tried = True
        branch.provisional = False
        branch.request = self._invite(
            branch.request.uri, branch.target, branch.request.cseq.number + 1,
            extra=((auth_name, value),),
        )
        self._send_branch(branch)
        return True

    def _on_2xx(self, branch: _Branch, response: Response) -> None:
        # §13.2.2.4: every 2xx (including retransmissions and other forks)
        # gets an ACK; a second dialog from another fork is ended with BYE.
        tag = response.to.tag or ""
        if branch.dialog is not None and branch.dialog.remote_tag == tag and branch.ack is not None:
            self.ua.send_stateless(branch.ack, branch.target)
            return
        dialog = Dialog.from_uac(branch.request, response)
        dialog.state = DialogState.CONFIRMED
        ack = dialog.create_request(
            "ACK", via=self.ua.via(branch.target.transport), cseq=branch.request.cseq.number
        )
        self.ua.send_stateless(ack, branch.target)
        branch.final = response.status
        if self.answered or self.cancelled:
            bye = dialog.create_request("BYE", via=self.ua.via(branch.target.transport))
            self.ua.send_request(bye, branch.target, lambda r, why: None)
            if not self.answered:
                self._check_all_failed()
            return
        branch.dialog = dialog
        branch.ack = ack
        self.answered = True
        self.dialog = dialog
        self.flow = branch.target
        self.ua.register_dialog(dialog, self)
        for other in self.branches:
            if other is not branch:
                self._cancel_branch(other)
        self._emit(Answered(sdp=response.body or None, target=branch.request.uri))

    def on_stray_response(self, response: Response) -> None:
        """A retransmitted 2xx after the INVITE transaction ended: re-ACK (§13.2.2.4)."""
        tag = response.to.tag or ""
        for branch in self.branches:
            if branch.dialog is not None and branch.ack is not None and branch.dialog.remote_tag == tag:
                self.ua.send_stateless(branch.ack, branch.target)

    def _check_all_failed(self) -> None:
        if self.answered or self.failed:
            return
        if any(b.final is None for b in self.branches):
            return
        self.failed = True
        status = _best_failure([b.final or 500 for b in self.branches])
        reason = "cancelled" if self.cancelled else f"{status}"
        self._emit(Failed(status=487 if self.cancelled else status, reason=reason))


def _best_failure(statuses: Sequence[int]) -> int:
    """RFC 3261 §16.7 step 6, simplified: any 6xx wins, then the lowest class."""
    six = [s for s in statuses if s >= 600]
    if six:
        return six[0]
    # Prefer a meaningful answer (busy, declined) over timeouts and 503.
    ranked = sorted(statuses, key=lambda s: (s in (408, 503, 480), s // 100, s))
    return ranked[0]


__all__ = [
    "Acked", "Answered", "Cancelled", "Credentials", "Ended", "Failed", "IncomingCall",
    "Info", "OutgoingCall", "ReInvite", "Ringing",
]
