"""The UAS half of a call: an initial INVITE that rings, is answered or refused.

RFC 3261 §13.3: one local tag for every response to the INVITE (18x, 2xx,
the 487 after a CANCEL, and - §9.2 - the 200 to the CANCEL itself).
§13.3.1.4: the 2xx is retransmitted until the ACK.  RFC 3264 / §13.2.1:
an INVITE without an offer ("late offer") is answered with our offer in the
2xx, and the peer's answer arrives in the ACK as ``Acked(sdp=...)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sip.dialog import Dialog, new_tag
from sip.leg_dialog import SDP, DialogLeg
from sip.leg_events import Cancelled, Listener
from sip.message import Request, Response, make_response
from sip.transport import Target
from sip.ua import UserAgent

DEFAULT_MAX_FORWARDS = 70


class IncomingCall(DialogLeg):
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
        ua.cancel_listeners[id(txn)] = self

    @property
    def call_id(self) -> str:
        return self.request.call_id

    @property
    def sdp(self) -> bytes | None:
        """The caller's offer; None for a late offer (answer with ours, see ``answer``)."""
        return self.request.body if self.request.content_type == SDP and self.request.body else None

    @property
    def max_forwards(self) -> int:
        """The INVITE's Max-Forwards (RFC 3261 §20.22; 70 when absent).

        A B2BUA carries the count down: ``OutgoingCall(..., max_forwards=
        incoming.max_forwards - 1)`` (§16.6 step 3).  The user agent has
        already answered 483 to an INVITE that arrived with 0."""
        value = (self.request.headers.get("Max-Forwards") or "").strip()
        return int(value) if value.isascii() and value.isdigit() else DEFAULT_MAX_FORWARDS

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
        """Send 200 OK; the dialog is confirmed and the 2xx retransmitted until ACK.

        For a late offer (``self.sdp`` is None) ``sdp`` is our offer and the
        caller's answer is reported as ``Acked(sdp=answer)``; an ACK without
        one ends the call (``Ended(reason="no SDP answer in ACK")``)."""
        if self.finalised:
            return
        self.finalised = self.answered = True
        self._drop_cancel_listener()
        response = self._respond(200, body=sdp or b"", headers=headers)
        self._confirmed(Dialog.from_uas(self.request, self.local_tag), self.flow)
        late_offer = self.sdp is None and bool(sdp)
        self._start_retransmission(response, offer_in_2xx=late_offer, initial=True)

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

    def on_cancel(self, cancel: Request) -> None:
        # §9.2: "the UAS ... SHOULD respond to the INVITE with a 487".
        if self.finalised:
            return
        self.reject(487)
        self._emit(Cancelled())

    def _drop_cancel_listener(self) -> None:
        self.ua.cancel_listeners.pop(id(self.txn), None)
