"""Non-INVITE server transaction (RFC 3261 §17.2.2).

States: TRYING -> PROCEEDING -> COMPLETED -> TERMINATED.

The request goes to the TU once; retransmissions are absorbed in TRYING
and answered with the last response sent afterwards.  A final response
from the TU is kept for Timer J (64*T1; zero over TCP) to answer
retransmissions; further final responses from the TU are discarded.
"""

from __future__ import annotations

from typing import ClassVar

from sip.message import Response
from sip.transaction.base import (
    Deliver,
    Effect,
    Input,
    ServerTransaction,
    State,
    Table,
    Transaction,
)


class NonInviteServerTransaction(ServerTransaction):
    """RFC 3261 Figure 8."""

    __slots__ = ()
    initial_state: ClassVar[State] = State.TRYING

    def start(self, now: float) -> list[Effect]:
        """The request arrived: pass it to the TU (state TRYING)."""
        # RFC 3261 §17.2.2: "The state machine is initialized in the
        # "Trying" state and is passed a request other than INVITE or ACK
        # when initialized.  This request is passed up to the TU."
        return [Deliver(message=self.request)]

    # -- actions -----------------------------------------------------------
    def _send(self, response: Response, now: float) -> list[Effect]:
        return self._send_response(response, now)

    def _start_j(self, _msg: object, now: float) -> list[Effect]:
        # RFC 3261 §17.2.2: "When the server transaction enters the
        # "Completed" state, it MUST set Timer J to fire in 64*T1 seconds
        # for unreliable transports, and zero seconds for reliable
        # transports."
        return self._arm("J", self.config.timer_j(self.reliable), now)

    def _discard(self, *_: object) -> list[Effect]:
        return []

    Tr, P, X, T = State.TRYING, State.PROCEEDING, State.COMPLETED, State.TERMINATED
    _failed = (Transaction._transport_failed, Transaction._finish)
    _table: ClassVar[Table] = {
        # RFC 3261 §17.2.2: "Once in the "Trying" state, any further request
        # retransmissions are discarded." (no table entry for REQUEST in Tr)
        # "While in the "Trying" state, if the TU passes a provisional
        # response to the server transaction, the server transaction MUST
        # enter the "Proceeding" state.  The response MUST be passed to the
        # transport layer for transmission."
        (Tr, Input.TU_PROVISIONAL): ((_send,), P),
        # RFC 3261 §17.2.2: "Any further provisional responses that are
        # received from the TU while in the "Proceeding" state MUST be passed
        # to the transport layer for transmission."
        (P, Input.TU_PROVISIONAL): ((_send,), P),
        # RFC 3261 §17.2.2: "If a retransmission of the request is received
        # while in the "Proceeding" state, the most recently sent provisional
        # response MUST be passed to the transport layer for retransmission."
        (P, Input.REQUEST): ((ServerTransaction._resend_last,), P),
        # RFC 3261 §17.2.2: "If the TU passes a final response (status codes
        # 200-699) to the server while in the "Proceeding" state, the
        # transaction MUST enter the "Completed" state, and the response MUST
        # be passed to the transport layer for transmission."  (Likewise from
        # "Trying", Figure 8.)
        (Tr, Input.TU_SUCCESS): ((_send, _start_j), X),
        (Tr, Input.TU_FAILURE): ((_send, _start_j), X),
        (P, Input.TU_SUCCESS): ((_send, _start_j), X),
        (P, Input.TU_FAILURE): ((_send, _start_j), X),
        # RFC 3261 §17.2.2: "While in the "Completed" state, the server
        # transaction MUST pass the final response to the transport layer
        # for retransmission whenever a retransmission of the request is
        # received.  Any other final responses passed by the TU to the
        # server transaction MUST be discarded while in the "Completed"
        # state."
        (X, Input.REQUEST): ((ServerTransaction._resend_last,), X),
        (X, Input.TU_SUCCESS): ((_discard,), X),
        (X, Input.TU_FAILURE): ((_discard,), X),
        # RFC 3261 §17.2.2: "The server transaction remains in this state
        # until Timer J fires, at which point it MUST transition to the
        # "Terminated" state."
        (X, Input.TIMER_J): ((Transaction._finish,), T),
        # RFC 3261 §17.2.4: transport failure -> inform the TU, Terminated.
        (P, Input.TRANSPORT_ERROR): (_failed, T),
        (X, Input.TRANSPORT_ERROR): (_failed, T),
    }
    del Tr, P, X, T, _failed
