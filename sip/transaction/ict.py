"""INVITE client transaction (RFC 3261 §17.1.1, updated by RFC 6026 §7.2).

States: CALLING -> PROCEEDING -> COMPLETED | ACCEPTED -> TERMINATED.

* Over UDP the INVITE is retransmitted by Timer A (T1, doubling, no cap)
  until a response arrives or Timer B (64*T1) fires.
* A provisional response stops A and B; the TU decides how long to ring
  (and must call ``terminate`` itself if no final response ever comes,
  RFC 3261 §9.1).
* A 300-699 response is acknowledged by the transaction itself (the ACK is
  built here, §17.1.1.3) and the ACK is re-sent for every retransmission of
  the response until Timer D fires.
* A 2xx after that (another fork) is passed to the TU, nothing else.
* A 2xx moves to ACCEPTED (RFC 6026): this and every later 2xx (including
  retransmissions and 2xx from other forks) go to the TU, which ACKs them
  itself; Timer M ends the state.
"""

from __future__ import annotations

from typing import ClassVar

from sip.message import Headers, Request, Response
from sip.timers import DEFAULT_TIMERS, TimerConfig
from sip.transaction.base import (
    ClientTransaction,
    Deliver,
    Effect,
    Input,
    Send,
    State,
    Table,
    Transaction,
)


def build_ack(invite: Request, response: Response) -> Request:
    """The ACK for a non-2xx final response (RFC 3261 §17.1.1.3)."""
    # RFC 3261 §17.1.1.3: "The ACK request constructed by the client
    # transaction MUST contain values for the Call-ID, From, and Request-URI
    # that are equal to the values of those header fields in the request
    # passed to the transport by the client transaction (call this the
    # "original request").  The To header field in the ACK MUST equal the To
    # header field in the response being acknowledged.  The ACK MUST contain
    # a single Via header field, and this MUST be equal to the top Via header
    # field of the original request.  The CSeq header field in the ACK MUST
    # contain the same value for the sequence number as was present in the
    # original request, but the method parameter MUST be equal to "ACK"."
    # "If the INVITE request whose response is being acknowledged had Route
    # header fields, those header fields MUST appear in the ACK."
    headers = Headers()
    vias = invite.headers.values("Via")
    headers.add("Via", vias[0] if vias else "")
    for name in ("Route",):
        for value in invite.headers.get_all(name):
            headers.add(name, value)
    headers.add("Max-Forwards", "70")
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.number} ACK")
    return Request(method="ACK", uri=invite.uri, headers=headers)


class InviteClientTransaction(ClientTransaction):
    """RFC 3261 Figure 5 with the RFC 6026 Figure 5 ACCEPTED state."""

    __slots__ = ("ack",)
    initial_state: ClassVar[State] = State.CALLING

    def __init__(
        self,
        request: Request,
        target: object,
        *,
        reliable: bool,
        config: TimerConfig = DEFAULT_TIMERS,
        key: object = None,
    ) -> None:
        super().__init__(request, target, reliable=reliable, config=config, key=key)
        # The ACK for a non-2xx final response, built once and re-sent as is.
        self.ack: Request | None = None

    def start(self, now: float) -> list[Effect]:
        """Send the INVITE: the transaction enters CALLING."""
        # RFC 3261 §17.1.1.2: "The client transaction MUST start timer B
        # with a value of 64*T1 seconds for all transports."  "If an
        # unreliable transport is being used, the client transaction MUST
        # start timer A with a value of T1."
        out: list[Effect] = [Send(message=self.request, target=self.target)]
        if not self.reliable:
            out += self._arm("A", self.config.timer_a(), now)
        out += self._arm("B", self.config.timer_b(), now)
        return out

    # -- actions -----------------------------------------------------------
    def _retransmit(self, _msg: object, now: float) -> list[Effect]:
        # RFC 3261 §17.1.1.2: "When timer A fires, the client transaction
        # MUST retransmit the request by passing it to the transport layer,
        # and MUST reset the timer with a value of 2*T1."
        self._interval *= 2
        return [
            Send(message=self.request, target=self.target),
            *self._arm("A", self._interval, now),
        ]

    def _stop_retransmitting(self, *_: object) -> list[Effect]:
        return self._disarm("A", "B")

    def _deliver(self, response: Response, _now: float) -> list[Effect]:
        return [Deliver(message=response)]

    def _send_ack(self, response: Response, _now: float) -> list[Effect]:
        # RFC 3261 §17.1.1.2: "When in either the "Calling" or "Proceeding"
        # states, reception of a response with status code from 300-699
        # MUST cause the client transaction to transition to "Completed".
        # The client transaction MUST pass the received response up to the
        # TU, and the client transaction MUST generate an ACK request."
        if self.ack is None:
            self.ack = build_ack(self.request, response)
        return [Send(message=self.ack, target=self.target)]

    def _resend_ack(self, *_: object) -> list[Effect]:
        # RFC 3261 §17.1.1.2: "Any retransmissions of the final response
        # that are received while in the "Completed" state MUST cause the
        # ACK to be re-passed to the transport layer for retransmission, but
        # the newly received response MUST NOT be passed up to the TU."
        if self.ack is None:
            return []
        return [Send(message=self.ack, target=self.target)]

    def _start_d(self, _msg: object, now: float) -> list[Effect]:
        # RFC 3261 §17.1.1.2: "The client transaction SHOULD start timer D
        # when it enters the "Completed" state, with a value of at least 32
        # seconds for unreliable transports, and a value of zero seconds for
        # reliable transports."
        return self._arm("D", self.config.timer_d(self.reliable), now)

    def _start_m(self, _msg: object, now: float) -> list[Effect]:
        # RFC 6026 §8.4: "The client transaction MUST start Timer M upon
        # entering the "Accepted" state", value 64*T1 (§8.11).
        return self._arm("M", self.config.timer_m(), now)

    C, P, X, A, T = (
        State.CALLING,
        State.PROCEEDING,
        State.COMPLETED,
        State.ACCEPTED,
        State.TERMINATED,
    )
    _table: ClassVar[Table] = {
        # RFC 3261 §17.1.1.2: "If the client transaction receives a
        # provisional response while in the "Calling" state, it transitions
        # to the "Proceeding" state. [...] the client transaction SHOULD NOT
        # retransmit the request any longer.  Furthermore, the provisional
        # response MUST be passed to the TU."
        (C, Input.PROVISIONAL): ((_stop_retransmitting, _deliver), P),
        (P, Input.PROVISIONAL): ((_deliver,), P),
        (C, Input.TIMER_A): ((_retransmit,), C),
        # RFC 3261 §17.1.1.2: "If the client transaction is still in the
        # "Calling" state when timer B fires, the client transaction SHOULD
        # inform the TU that a timeout has occurred."
        (C, Input.TIMER_B): ((Transaction._timed_out, Transaction._finish), T),
        # RFC 6026 §8.4: "If, while in the "Calling" or "Proceeding" state,
        # a 2xx response is received, the client transaction MUST transition
        # to the "Accepted" state" and pass the response to the TU.
        (C, Input.SUCCESS): ((_stop_retransmitting, _deliver, _start_m), A),
        (P, Input.SUCCESS): ((_deliver, _start_m), A),
        # RFC 6026 §8.4: "any 2xx responses received while in the
        # "Accepted" state MUST be passed up to the TU".
        (A, Input.SUCCESS): ((_deliver,), A),
        (A, Input.TIMER_M): ((Transaction._finish,), T),
        (C, Input.FAILURE): ((_stop_retransmitting, _send_ack, _deliver, _start_d), X),
        (P, Input.FAILURE): ((_send_ack, _deliver, _start_d), X),
        (X, Input.FAILURE): ((_resend_ack,), X),
        # Not in RFC 3261 Figure 5: a 2xx from another fork after a non-2xx
        # final still goes to the TU (as a stray 2xx would once Timer D has
        # fired) so that it can ACK and BYE it (RFC 3261 §13.2.2.4).
        (X, Input.SUCCESS): ((_deliver,), X),
        # RFC 3261 §17.1.1.2: "If timer D fires while the client transaction
        # is in the "Completed" state, the client transaction MUST move to
        # the terminated state."
        (X, Input.TIMER_D): ((Transaction._finish,), T),
        # RFC 3261 §17.1.4: "the client transaction SHOULD inform the TU
        # that a transport failure has occurred, and the client transaction
        # SHOULD transition directly to the "Terminated" state."
        (C, Input.TRANSPORT_ERROR): ((Transaction._transport_failed, Transaction._finish), T),
        (P, Input.TRANSPORT_ERROR): ((Transaction._transport_failed, Transaction._finish), T),
        (X, Input.TRANSPORT_ERROR): ((Transaction._transport_failed, Transaction._finish), T),
    }
    del C, P, X, A, T
