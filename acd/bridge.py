"""Two legs joined into one call by the B2BUA (passthrough SDP for now).

Whatever one side does, the other side follows: ringing flows back to the
caller, an answer answers the caller, a hang-up on either side ends the
other, a re-INVITE (hold/unhold) is relayed and its answer returned, INFO
(DTMF relay) is passed on.  The record of the call is written when it ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sip.leg_events import (
    Acked,
    Answered,
    Cancelled,
    Ended,
    Failed,
    Info,
    LegEvent,
    ReInvite,
    Ringing,
)
from sip.legs import IncomingCall, OutgoingCall

log = logging.getLogger("jono.bridge")


class Bridge:
    def __init__(
        self,
        inbound: IncomingCall,
        outbound: OutgoingCall,
        on_done: Callable[[Bridge, int, str, str | None], None],
    ) -> None:
        self.inbound = inbound
        self.outbound = outbound
        self.on_done = on_done
        self.answered = False
        self.answered_at: datetime | None = None
        self.done = False
        inbound.listener = self._from_inbound
        outbound.listener = self._from_outbound

    def start(self) -> None:
        self.outbound.start()

    def _finish(self, status: int, disposition: str, ended_by: str | None) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.on_done(self, status, disposition, ended_by)
        except Exception:
            log.exception("call record failed")

    # -- caller side -------------------------------------------------------
    def _from_inbound(self, event: LegEvent) -> None:
        if isinstance(event, Cancelled):
            self.outbound.cancel()
            self._finish(487, "abandoned", "caller")
        elif isinstance(event, Ended):
            self.outbound.hangup()
            self._finish(200, "answered", "caller")
        elif isinstance(event, ReInvite):
            self._relay_reinvite(self.inbound, self.outbound, event)
        elif isinstance(event, Info):
            self.outbound.send_info(event.body, event.content_type)
        elif isinstance(event, Acked):
            pass

    # -- callee side -------------------------------------------------------
    def _from_outbound(self, event: LegEvent) -> None:
        if isinstance(event, Ringing):
            self.inbound.ring(event.sdp)
        elif isinstance(event, Answered):
            self.answered = True
            self.answered_at = datetime.now(UTC)
            self.inbound.answer(event.sdp)
        elif isinstance(event, Failed):
            status = event.status if event.status >= 400 else 480
            if event.status == 487:
                # We cancelled it because the caller left; nothing to forward.
                return
            self.inbound.reject(status)
            self._finish(status, _disposition(status), None)
        elif isinstance(event, Ended):
            self.inbound.hangup()
            self._finish(200, "answered", "callee")
        elif isinstance(event, ReInvite):
            self._relay_reinvite(self.outbound, self.inbound, event)
        elif isinstance(event, Info):
            self.inbound.send_info(event.body, event.content_type)

    @staticmethod
    def _relay_reinvite(
        origin: IncomingCall | OutgoingCall, other: IncomingCall | OutgoingCall, event: ReInvite
    ) -> None:
        def done(status: int, sdp: bytes | None) -> None:
            origin.answer_reinvite(event, status if status >= 200 else 500, sdp)

        other.reinvite(event.sdp, done)


def _disposition(status: int) -> str:
    if status in (486, 600):
        return "busy"
    if status in (603,):
        return "declined"
    if status in (408, 480):
        return "no_answer"
    return "failed"


def give_up(bridge: Bridge, status: int = 480) -> None:
    """Stop ringing (no answer in time): cancel the callee, tell the caller."""
    if bridge.answered or bridge.done:
        return
    bridge.outbound.cancel()
    bridge.inbound.reject(status)
    bridge._finish(status, _disposition(status), None)
