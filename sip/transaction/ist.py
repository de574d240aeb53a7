"""INVITE server transaction (RFC 3261 §17.2.1, updated by RFC 6026 §7.1).

States: PROCEEDING -> COMPLETED -> CONFIRMED -> TERMINATED, or
PROCEEDING -> ACCEPTED -> TERMINATED for a 2xx (RFC 6026).

Choice: the 100 (Trying) that §17.2.1 asks for within 200 ms is sent at
once by ``start`` (simpler than a timer, and never late).

* A retransmitted INVITE is answered with the last response sent
  (PROCEEDING: the last provisional; COMPLETED: the final), absorbed
  in CONFIRMED and ACCEPTED; it never reaches the TU again.
* A 300-699 from the TU is retransmitted by Timer G (T1, doubling up to
  T2, UDP only) until the ACK, which is absorbed (not passed to the TU);
  Timer H (64*T1) gives up waiting for it; Timer I absorbs ACK copies.
* A 2xx from the TU moves to ACCEPTED: 2xx retransmission is the TU's job
  (it sends each copy through ``send_response``); ACKs arriving here go to
  the TU; Timer L (64*T1) ends the state.
"""

from __future__ import annotations

from typing import ClassVar

from sip.message import Request, Response, make_response
from sip.transaction.base import (
    Deliver,
    Effect,
    Input,
    ServerTransaction,
    State,
    Table,
    Transaction,
)


class InviteServerTransaction(ServerTransaction):
    """RFC 3261 Figure 7 with the RFC 6026 Figure 7 ACCEPTED state."""

    __slots__ = ()
    initial_state: ClassVar[State] = State.PROCEEDING

    def start(self, now: float) -> list[Effect]:
        """The INVITE arrived: answer 100 (Trying) and pass it to the TU."""
        # RFC 3261 §17.2.1: "When a server transaction is constructed for a
        # request, it enters the "Proceeding" state.  The server transaction
        # MUST generate a 100 (Trying) response unless it knows that the TU
        # will generate a provisional or final response within 200 ms".
        # RFC 3261 §8.2.6.1: "If there is a Timestamp header field in the
        # request, the UAS MUST copy it into the 100 (Trying) response."
        stamp = self.request.headers.get("Timestamp")
        trying = make_response(
            self.request, 100, headers=[("Timestamp", stamp)] if stamp is not None else ()
        )
        return [*self._send_response(trying, now), Deliver(message=self.request)]

    # -- actions -----------------------------------------------------------
    def _start_g_h(self, _msg: object, now: float) -> list[Effect]:
        # RFC 3261 §17.2.1: "For unreliable transports, timer G is set to
        # fire in T1 seconds, and is not set to fire for reliable
        # transports. [...] When the "Completed" state is entered, timer H
        # MUST be set to fire in 64*T1 seconds for all transports."
        out: list[Effect] = []
        if not self.reliable:
            out += self._arm("G", self.config.timer_g(), now)
        out += self._arm("H", self.config.timer_h(), now)
        return out

    def _retransmit_final(self, _msg: object, now: float) -> list[Effect]:
        # RFC 3261 §17.2.1: "If timer G fires, the response is passed to the
        # transport layer once more for retransmission, and timer G is set
        # to fire in MIN(2*T1, T2) seconds."
        self._interval = min(self._interval * 2, self.config.t2)
        return [*self._resend_last(), *self._arm("G", self._interval, now)]

    def _confirm(self, _msg: object, now: float) -> list[Effect]:
        # RFC 3261 §17.2.1: "If an ACK is received while the server
        # transaction is in the "Completed" state, the server transaction
        # MUST transition to the "Confirmed" state.  As Timer G is ignored
        # in this state, any retransmissions of the response will cease."
        # "The purpose of the "Confirmed" state is to absorb any additional
        # ACK messages [...] timer I is set to fire in T4 seconds for
        # unreliable transports, and zero seconds for reliable transports."
        return [*self._disarm("G", "H"), *self._arm("I", self.config.timer_i(self.reliable), now)]

    def _start_l(self, _msg: object, now: float) -> list[Effect]:
        # RFC 6026 §8.7: "When the INVITE server transaction enters the
        # "Accepted" state, Timer L MUST be set to fire in 64*T1".
        return self._arm("L", self.config.timer_l(), now)

    def _deliver_ack(self, ack: Request, _now: float) -> list[Effect]:
        return [Deliver(message=ack)]

    def _send(self, response: Response, now: float) -> list[Effect]:
        return self._send_response(response, now)

    P, X, C, A, T = (
        State.PROCEEDING,
        State.COMPLETED,
        State.CONFIRMED,
        State.ACCEPTED,
        State.TERMINATED,
    )
    _failed = (Transaction._transport_failed, Transaction._finish)
    _table: ClassVar[Table] = {
        # RFC 3261 §17.2.1: "The TU passes any number of provisional
        # responses to the server transaction.  So long as the server
        # transaction is in the "Proceeding" state, each of these MUST be
        # passed to the transport layer for transmission."
        (P, Input.TU_PROVISIONAL): ((_send,), P),
        # RFC 3261 §17.2.1: "If a request retransmission is received while in
        # the "Proceeding" state, the most recent provisional response that
        # was received from the TU MUST be passed to the transport layer for
        # retransmission."
        (P, Input.REQUEST): ((ServerTransaction._resend_last,), P),
        # RFC 6026 §8.5: "If, while in the "Proceeding" state, the TU passes
        # a 2xx response to the server transaction, the server transaction
        # MUST pass this response to the transport layer for transmission.
        # [...] The server transaction MUST then transition to the
        # "Accepted" state."
        (P, Input.TU_SUCCESS): ((_send, _start_l), A),
        # RFC 3261 §17.2.1: "While in the "Proceeding" state, if the TU
        # passes a response with status code from 300 to 699 to the server
        # transaction, the response MUST be passed to the transport layer
        # for transmission, and the state machine MUST enter the "Completed"
        # state."
        (P, Input.TU_FAILURE): ((_send, _start_g_h), X),
        # RFC 3261 §17.2.1: "while in the "Completed" state, if a request
        # retransmission is received, the server SHOULD pass the response to
        # the transport for retransmission."
        (X, Input.REQUEST): ((ServerTransaction._resend_last,), X),
        (X, Input.TIMER_G): ((_retransmit_final,), X),
        # RFC 3261 §17.2.1: "If timer H fires while in the "Completed"
        # state, it implies that the ACK was never received.  In this case,
        # the server transaction MUST transition to the "Terminated" state,
        # and MUST indicate to the TU that a transaction failure has
        # occurred."
        (X, Input.TIMER_H): ((Transaction._timed_out, Transaction._finish), T),
        (X, Input.ACK): ((_confirm,), C),
        # RFC 3261 §17.2.1: "Once timer I fires, the server MUST transition
        # to the "Terminated" state."  (ACKs and INVITEs in "Confirmed" are
        # absorbed: no table entry.)
        (C, Input.TIMER_I): ((Transaction._finish,), T),
        # RFC 6026 §8.7: "If a 2xx response is received from the TU while in
        # the "Accepted" state, the response MUST be passed to the transport
        # layer for transmission" -- the TU's 2xx retransmissions.  "Any
        # retransmissions of the INVITE received while in this state MUST
        # NOT be passed to the TU" (absorbed: no table entry for REQUEST).
        (A, Input.TU_SUCCESS): ((_send,), A),
        # RFC 6026 §8.7: "Any ACKs received from the network while in the
        # "Accepted" state MUST be passed directly to the TU and not
        # absorbed."
        (A, Input.ACK): ((_deliver_ack,), A),
        # RFC 6026 §8.7: "If Timer L fires while the INVITE server
        # transaction is in the "Accepted" state, the transaction MUST
        # transition to the "Terminated" state."
        (A, Input.TIMER_L): ((Transaction._finish,), T),
        # RFC 3261 §17.2.4: transport failure -> inform the TU, Terminated.
        (P, Input.TRANSPORT_ERROR): (_failed, T),
        (X, Input.TRANSPORT_ERROR): (_failed, T),
        # In ACCEPTED the failed send was a 2xx the TU retransmits: tell the
        # TU, which owns the 2xx and decides; the transaction keeps
        # absorbing INVITE copies until Timer L (our reading of RFC 6026).
        (A, Input.TRANSPORT_ERROR): ((Transaction._transport_failed,), A),
    }
    del P, X, C, A, T, _failed
