"""Non-INVITE client transaction (RFC 3261 §17.1.2).

States: TRYING -> PROCEEDING -> COMPLETED -> TERMINATED.

Over UDP the request is retransmitted by Timer E (T1, doubling up to T2;
at T2 once a provisional response has arrived) until a final response or
Timer F (64*T1).  The final response goes to the TU once; its
retransmissions are absorbed during Timer K (T4; zero over TCP).
"""

from __future__ import annotations

from typing import ClassVar

from sip.message import Response
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


class NonInviteClientTransaction(ClientTransaction):
    """RFC 3261 Figure 6."""

    __slots__ = ()
    initial_state: ClassVar[State] = State.TRYING

    def start(self, now: float) -> list[Effect]:
        """Send the request: the transaction enters TRYING."""
        # RFC 3261 §17.1.2.2: "The "Trying" state is entered when the TU
        # initiates a new client transaction with a request.  When entering
        # this state, the client transaction SHOULD set timer F to fire in
        # 64*T1 seconds. [...] If an unreliable transport is in use, the
        # client transaction MUST set timer E to fire in T1 seconds."
        out: list[Effect] = [Send(message=self.request, target=self.target)]
        if not self.reliable:
            out += self._arm("E", self.config.timer_e(), now)
        out += self._arm("F", self.config.timer_f(), now)
        return out

    # -- actions -----------------------------------------------------------
    def _retransmit_trying(self, _msg: object, now: float) -> list[Effect]:
        # RFC 3261 §17.1.2.2: "If timer E fires while still in this state,
        # the timer is reset, but this time with a value of MIN(2*T1, T2).
        # When the timer fires again, it is reset to a MIN(4*T1, T2)."
        self._interval = min(self._interval * 2, self.config.t2)
        return [
            Send(message=self.request, target=self.target),
            *self._arm("E", self._interval, now),
        ]

    def _retransmit_proceeding(self, _msg: object, now: float) -> list[Effect]:
        # RFC 3261 §17.1.2.2: "If Timer E fires while in the "Proceeding"
        # state, the request MUST be passed to the transport layer for
        # retransmission, and Timer E MUST be reset with a value of T2
        # seconds."
        self._interval = self.config.t2
        return [
            Send(message=self.request, target=self.target),
            *self._arm("E", self._interval, now),
        ]

    def _deliver(self, response: Response, _now: float) -> list[Effect]:
        return [Deliver(message=response)]

    def _stop_timers(self, *_: object) -> list[Effect]:
        return self._disarm("E", "F")

    def _start_k(self, _msg: object, now: float) -> list[Effect]:
        # RFC 3261 §17.1.2.2: "Once the client transaction enters the
        # "Completed" state, it MUST set Timer K to fire in T4 seconds for
        # unreliable transports, and zero seconds for reliable transports."
        return self._arm("K", self.config.timer_k(self.reliable), now)

    Tr, P, X, T = State.TRYING, State.PROCEEDING, State.COMPLETED, State.TERMINATED
    _final = (_stop_timers, _deliver, _start_k)
    _failed = (Transaction._transport_failed, Transaction._finish)
    _table: ClassVar[Table] = {
        (Tr, Input.TIMER_E): ((_retransmit_trying,), Tr),
        (P, Input.TIMER_E): ((_retransmit_proceeding,), P),
        # RFC 3261 §17.1.2.2: "If Timer F fires while the client transaction
        # is still in the "Trying" state, the client transaction SHOULD
        # inform the TU about the timeout, and then it SHOULD enter the
        # "Terminated" state."  (Likewise in "Proceeding".)
        (Tr, Input.TIMER_F): ((Transaction._timed_out, Transaction._finish), T),
        (P, Input.TIMER_F): ((Transaction._timed_out, Transaction._finish), T),
        # RFC 3261 §17.1.2.2: "If a provisional response is received while in
        # the "Trying" state, the response MUST be passed to the TU, and then
        # the client transaction SHOULD move to the "Proceeding" state."
        (Tr, Input.PROVISIONAL): ((_deliver,), P),
        (P, Input.PROVISIONAL): ((_deliver,), P),
        # RFC 3261 §17.1.2.2: "If a final response (status codes 200-699) is
        # received while in the "Trying" state, the response MUST be passed
        # to the TU, and the client transaction MUST transition to the
        # "Completed" state." (Likewise in "Proceeding".)
        (Tr, Input.SUCCESS): (_final, X),
        (Tr, Input.FAILURE): (_final, X),
        (P, Input.SUCCESS): (_final, X),
        (P, Input.FAILURE): (_final, X),
        # RFC 3261 §17.1.2.2: "The "Completed" state exists to buffer any
        # additional response retransmissions that may be received" --
        # responses there are absorbed (no table entry).
        (X, Input.TIMER_K): ((Transaction._finish,), T),
        # RFC 3261 §17.1.4: transport failure -> inform the TU, Terminated.
        (Tr, Input.TRANSPORT_ERROR): (_failed, T),
        (P, Input.TRANSPORT_ERROR): (_failed, T),
    }
    del Tr, P, X, T, _final, _failed
