"""The UAC half of a call: one INVITE forked to several contacts at once.

The first 2xx wins and the other branches are cancelled (§16.6-like
forking done by the UAC itself); every 2xx gets an ACK (§13.2.2.4).
``max_forwards`` lets a B2BUA carry the hop count down (§16.6 step 3).

Late offer (RFC 3264, RFC 3261 §13.2.1): with ``sdp=None`` the INVITE
carries no offer, the 2xx brings the peer's offer as
``Answered(sdp=offer, needs_answer=True)``, and the application answers it
with :meth:`OutgoingCall.ack`; that ACK is re-sent for every retransmitted
2xx.  If the application does not answer within 32*T1 the call is ended
(``Ended(by="local", reason="no SDP answer for the late offer")``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sip.auth import answer_challenge
from sip.dialog import Dialog, new_call_id, new_tag
from sip.headers import NameAddr
from sip.leg_dialog import SDP, DialogLeg, ignore_response
from sip.leg_events import Answered, Failed, Listener, Ringing
from sip.leg_timers import (
    TIMER_LATE_ANSWER,
    abandoned_branch,
    late_answer_timeout,
    timer_abandon,
)
from sip.message import Headers, Request, Response
from sip.transport import Target
from sip.ua import ALLOW_HEADER, UserAgent


@dataclass(eq=False)
class _Branch:
    index: int
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


class OutgoingCall(DialogLeg):
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
        max_forwards: int = 70,
    ) -> None:
        if not 0 <= max_forwards <= 255:
            raise ValueError(f"max_forwards {max_forwards} must be 0..255 (RFC 3261 §20.22)")
        first = targets[0][1] if targets else Target("udp", "127.0.0.1", 5060)
        super().__init__(ua, first, listener)
        self._call_id = new_call_id(ua.public_host or "jono")
        self.from_tag = new_tag()
        self.from_addr = str(NameAddr(display=from_display, uri=from_uri, params={"tag": self.from_tag}))
        self.to_uri = to_uri
        self.sdp = sdp
        self.max_forwards = max_forwards
        self.headers = list(headers)
        self.credentials = credentials
        self.branches = [
            _Branch(i, self._invite(uri, target, 1), target) for i, (uri, target) in enumerate(targets)
        ]
        self.answered = False
        self.failed = False
        self.cancelled = False
        self._ringing_sent = False
        self._awaiting_answer: _Branch | None = None  # late offer: 2xx not yet ACKed

    @property
    def call_id(self) -> str:
        return self._call_id

    def _invite(self, uri: str, target: Target, cseq: int, extra: Sequence[tuple[str, str]] = ()) -> Request:
        h = Headers()
        h.add("Via", self.ua.via(target.transport))
        h.add("Max-Forwards", str(self.max_forwards))
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
            self._ack_without_answer()
            super().hangup()
        else:
            self.cancel()

    def ack(self, sdp: bytes) -> None:
        """Late offer: ACK the 2xx with our ``sdp`` answer (§13.2.2.4: "If the
        2xx contains an offer ..., the ACK MUST carry an answer in its body")."""
        branch = self._awaiting_answer
        if branch is None or branch.dialog is None or self.ended:
            return
        self._awaiting_answer = None
        self.ua.disarm(self, TIMER_LATE_ANSWER)
        branch.ack = branch.dialog.create_request(
            "ACK", via=self.ua.via(branch.target.transport), cseq=branch.request.cseq.number,
            body=sdp, content_type=SDP,
        )  # fmt: skip
        self.ua.send_stateless(branch.ack, branch.target)

    def _ack_without_answer(self) -> None:
        """Stop the peer's 2xx retransmissions when no answer will come."""
        if self._awaiting_answer is not None:
            self.ack(b"")

    def on_timer(self, name: str, now: float) -> None:
        if name == TIMER_LATE_ANSWER:
            if self._awaiting_answer is not None and not self.ended:
                self._ack_without_answer()
                self._end("no SDP answer for the late offer", by="local")
            return
        index = abandoned_branch(name)
        if index is not None and index < len(self.branches):
            self._abandon_branch(self.branches[index])
            return
        super().on_timer(name, now)

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
        h.add("Max-Forwards", str(self.max_forwards))
        for name in ("From", "To", "Call-ID"):
            h.add(name, invite.headers.get(name) or "")
        h.add("CSeq", f"{invite.cseq.number} CANCEL")
        for route in invite.headers.values("Route"):
            h.add("Route", route)
        cancel = Request(method="CANCEL", uri=invite.uri, headers=h)
        self.ua.send_request(cancel, branch.target, ignore_response)
        # §9.1: "If there is no final response for the original request in
        # 64*T1 seconds ..., the client SHOULD then consider the original
        # transaction cancelled and SHOULD destroy the client transaction".
        self.ua.arm(self, timer_abandon(branch.index), 64 * self.ua.layer.config.t1)

    def _abandon_branch(self, branch: _Branch) -> None:
        if branch.final is None and branch.txn is not None:
            self.ua.terminate(branch.txn)
            branch.final = 487
            self._check_all_failed()

    def _on_branch_response(self, branch: _Branch, response: Response | None, why: str) -> None:
        if response is None:
            if branch.final is None:
                branch.final = 408 if why == "timeout" else 503
                self.ua.disarm(self, timer_abandon(branch.index))
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
        self.ua.disarm(self, timer_abandon(branch.index))
        if status < 300:
            self._on_2xx(branch, response)
            return
        if status in (401, 407) and self._retry_with_auth(branch, response):
            return
        branch.final = status
        self._check_all_failed()

    def _retry_with_auth(self, branch: _Branch, response: Response) -> bool:
        if self.credentials is None or branch.auth_tried or self.cancelled:
            return False
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        auth_name = "Authorization" if response.status == 401 else "Proxy-Authorization"
        challenge = response.headers.get(header)
        if challenge is None:
            return False
        try:
            value = answer_challenge(
                challenge, "INVITE", branch.request.uri, self.credentials.username,
                self.credentials.password, cnonce=new_tag(),
            )  # fmt: skip
        except ValueError:
            return False  # nothing we can answer: the 401/407 stands
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
        if branch.dialog is not None and branch.dialog.remote_tag == tag:
            if branch.ack is not None:
                self.ua.send_stateless(branch.ack, branch.target)
            return  # late offer: the ACK waits for the application's answer
        dialog = Dialog.from_uac(branch.request, response)
        branch.final = response.status
        offer = response.body if response.body and response.content_type == SDP else None
        needs_answer = self.sdp is None and offer is not None
        if self.answered or self.cancelled:
            # A 2xx we do not want (another fork, or after CANCEL): ACK, then BYE.
            # A late offer in it gets an ACK without answer: we will not use it.
            via = self.ua.via(branch.target.transport)
            ack = dialog.create_request("ACK", via=via, cseq=branch.request.cseq.number)
            self.ua.send_stateless(ack, branch.target)
            bye = dialog.create_request("BYE", via=via)
            self.ua.send_request(bye, branch.target, ignore_response)
            if not self.answered:
                self._check_all_failed()
            return
        branch.dialog = dialog
        self.answered = True
        self._confirmed(dialog, branch.target)
        if needs_answer:
            self._awaiting_answer = branch
            self.ua.arm(self, TIMER_LATE_ANSWER, late_answer_timeout(self.ua.layer.config.t1))
        else:
            branch.ack = dialog.create_request(
                "ACK", via=self.ua.via(branch.target.transport), cseq=branch.request.cseq.number
            )
            self.ua.send_stateless(branch.ack, branch.target)
        for other in self.branches:
            if other is not branch:
                self._cancel_branch(other)
        self._emit(Answered(sdp=offer if needs_answer else response.body or None,
                            target=branch.request.uri, needs_answer=needs_answer))

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

    def _finish(self) -> None:
        super()._finish()
        self.ua.disarm(self, TIMER_LATE_ANSWER)


def _best_failure(statuses: Sequence[int]) -> int:
    """RFC 3261 §16.7 step 6, simplified: any 6xx wins, then the lowest class."""
    six = [s for s in statuses if s >= 600]
    if six:
        return six[0]
    # Prefer a meaningful answer (busy, declined) over timeouts and 503.
    ranked = sorted(statuses, key=lambda s: (s in (408, 503, 480), s // 100, s))
    return ranked[0]
