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

from media.engine import MediaEngine
from media.leg import MediaLeg
from media.sdp import NoCommonCodec, SdpError
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

SdpProblem = (NoCommonCodec, SdpError)


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

    def media_legs(self) -> dict[str, MediaLeg]:
        """Jono's media legs of this call, by side (none: media passes through)."""
        return {}

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


class AnchoredBridge(Bridge):
    """A bridge whose media flows through Jono's engine (the default).

    Each side negotiates with its own media leg: the caller gets our answer,
    the callee our offer; the engine relays (and transcodes) between them.
    Re-INVITEs (hold/resume) are answered by the leg they arrive on; a leg
    without RTP for the engine's dead time ends the call.
    """

    def __init__(
        self,
        inbound: IncomingCall,
        outbound: OutgoingCall,
        on_done: Callable[[Bridge, int, str, str | None], None],
        *,
        engine: MediaEngine,
        caller_media: MediaLeg,
        callee_media: MediaLeg,
        answer_sdp: bytes,
    ) -> None:
        super().__init__(inbound, outbound, on_done)
        self.engine = engine
        self.caller_media = caller_media
        self.callee_media = callee_media
        self.answer_sdp = answer_sdp
        caller_media.on_dead = callee_media.on_dead = self._dead

    def media_legs(self) -> dict[str, MediaLeg]:
        return {"caller": self.caller_media, "callee": self.callee_media}

    def _dead(self, leg: MediaLeg) -> None:
        log.info("no RTP on call %s; hanging up", self.inbound.call_id)
        self.inbound.hangup()
        self.outbound.hangup()
        self._finish(200, "answered" if self.answered else "failed", "media timeout")

    def _finish(self, status: int, disposition: str, ended_by: str | None) -> None:
        if self.done:
            return
        super()._finish(status, disposition, ended_by)
        self.engine.unbridge(self.caller_media)
        self.caller_media.close()
        self.callee_media.close()

    def _from_inbound(self, event: LegEvent) -> None:
        if isinstance(event, ReInvite):
            answer_locally(self.inbound, self.caller_media, event)
        else:
            super()._from_inbound(event)

    def _from_outbound(self, event: LegEvent) -> None:
        if isinstance(event, Ringing):
            self.inbound.ring()
        elif isinstance(event, Answered):
            try:
                self.callee_media.apply_answer(event.sdp or b"")
            except SdpProblem as err:
                log.info("callee answer unusable on %s: %s", self.inbound.call_id, err)
                self.outbound.hangup()
                self.inbound.reject(488)
                self._finish(488, "failed", None)
                return
            self.engine.bridge(self.caller_media, self.callee_media)
            self.answered = True
            self.answered_at = datetime.now(UTC)
            self.inbound.answer(self.answer_sdp)
        elif isinstance(event, ReInvite):
            answer_locally(self.outbound, self.callee_media, event)
        else:
            super()._from_outbound(event)


def answer_locally(leg: IncomingCall | OutgoingCall, media: MediaLeg, event: ReInvite) -> None:
    """Answer a re-INVITE from the media leg it concerns (RFC 3264 §8)."""
    if not event.sdp:
        # An offerless re-INVITE: our offer goes in the 2xx (RFC 3261 §14.2).
        leg.answer_reinvite(event, 200, media.make_offer())
        return
    try:
        sdp = media.local_sdp_answer(event.sdp)
    except SdpProblem:
        leg.answer_reinvite(event, 488)
        return
    leg.answer_reinvite(event, 200, sdp)


async def open_answering_leg(
    engine: MediaEngine, incoming: IncomingCall
) -> tuple[MediaLeg, bytes] | None:
    """A media leg for a call Jono answers itself, and its SDP answer; None
    when the offer has nothing in common with us (488 sent, RFC 3264 §6) or
    the caller gave up while the leg was opening."""
    leg = await engine.open_leg()
    try:
        answer = leg.local_sdp_answer(incoming.sdp or b"")
    except SdpProblem:
        incoming.reject(488)
        leg.close()
        return None
    if incoming.finalised:
        leg.close()
        return None
    return leg, answer
