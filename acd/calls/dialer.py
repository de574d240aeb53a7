"""The one dialer: ring these targets, first answer wins.

Every call Jono places goes through :class:`Dialer`: a direct call to a
user's devices, a menu's "operator" option, a queue's offer to an agent
(D7: all the agent's devices at once), a number through a trunk, an
originate. One :class:`Attempt` forks one INVITE to every target (RFC 3261
§16.6-like, in ``sip.legs.OutgoingCall``); the first 2xx wins and the other
branches are cancelled.

Media: by default Jono anchors it (the attempt opens a media leg, offers
from it and applies the answer); with ``Dial.offer`` the caller's own offer
goes out as is and the answer comes back in ``Party.answer_sdp``
(passthrough).

The listener hears ``ringing`` (maybe several times), then exactly one of
``answered`` (it must adopt the party, usually with ``Call.connect``, or
return False and the party is hung up) or ``failed``. Cancelling or a ring
timeout reports ``failed`` at once; a 2xx that still arrives is hung up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from acd.calls.media import SdpProblem
from acd.calls.party import Party
from acd.calls.ports import LegFactory, OutgoingLeg
from acd.calls.status import Outcome, outcome_of
from acd.telephony.targets import DialTarget
from media.api import MediaEngineApi, MediaLegApi
from media.leg import MediaLeg
from media.rtpengine.ng import NgError
from sip.leg_events import Answered, Failed, LegEvent, Ringing
from sip.legs import Credentials

log = structlog.stdlib.get_logger("jono.calls")

Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial:
    targets: tuple[DialTarget, ...]
    from_uri: str
    to_uri: str
    from_display: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    credentials: Credentials | None = None
    ring_timeout: float | None = None
    offer: bytes | None = None  # passthrough: the caller's own SDP offer (b"": none, late)
    role: str = "callee"
    max_forwards: int = 70  # a call on behalf of another carries its count down
    user: str | None = None
    managed: bool = False


@dataclass(frozen=True, slots=True)
class DialResult:
    outcome: Outcome
    status: int
    party: Party | None = None


class DialListener(Protocol):
    def ringing(self, attempt: Attempt, sdp: bytes | None) -> None: ...

    def answered(self, attempt: Attempt, party: Party) -> bool:
        """Adopt ``party`` (True) or refuse it (False: it is hung up)."""
        ...

    def failed(self, attempt: Attempt, result: DialResult) -> None: ...


class Dialer:
    def __init__(self, legs: LegFactory, media: MediaEngineApi, spawn: Spawn) -> None:
        self.legs = legs
        self.media = media
        self.spawn = spawn

    def dial(self, dial: Dial, listener: DialListener) -> Attempt:
        attempt = Attempt(self, dial, listener)
        attempt.start()
        return attempt


class Attempt:
    def __init__(self, dialer: Dialer, dial: Dial, listener: DialListener) -> None:
        self.dialer = dialer
        self.dial = dial
        self.listener: DialListener | None = listener
        self.leg: OutgoingLeg | None = None
        self.media: MediaLegApi | None = None
        self.result: DialResult | None = None
        self.cancelled = False
        self._timed_out = False
        self._timer: asyncio.TimerHandle | None = None
        self._done: asyncio.Future[DialResult] | None = None

    @property
    def finished(self) -> bool:
        return self.result is not None

    def start(self) -> None:
        if self.dial.offer is not None:
            self._send(self.dial.offer)
        else:
            self.dialer.spawn(self._open_media())

    async def _open_media(self) -> None:
        media = await self.dialer.media.open_leg()
        if self.finished:
            media.close()
            return
        try:
            offer = await media.create_offer()
        except NgError as err:
            log.warning("media plane refused an offer", to=self.dial.to_uri, error=str(err))
            media.close()
            self._finish(DialResult(Outcome.UNREACHABLE, 500))
            return
        if self.finished:  # given up while the media plane answered
            media.close()
            return
        self.media = media
        self._send(offer)

    def _send(self, sdp: bytes) -> None:
        dial = self.dial
        leg = self.dialer.legs.outgoing(
            [(t.uri, t.target) for t in dial.targets],
            from_uri=dial.from_uri, to_uri=dial.to_uri, from_display=dial.from_display,
            sdp=sdp or None, headers=dial.headers, credentials=dial.credentials,
            max_forwards=max(0, dial.max_forwards),
        )
        self.leg = leg
        leg.listener = self._on_event
        if dial.ring_timeout:
            self._timer = asyncio.get_running_loop().call_later(dial.ring_timeout, self._timeout)
        leg.start()

    def cancel(self) -> None:
        """Stop ringing; reports ``failed`` (cancelled) unless already over."""
        if self.finished:
            return
        self.cancelled = True
        if self.leg is not None:
            self.leg.cancel()
        self._finish(DialResult(Outcome.CANCELLED, 487))

    def _timeout(self) -> None:
        self._timer = None
        if self.finished:
            return
        self._timed_out = True
        if self.leg is not None:
            self.leg.cancel()
        self._finish(DialResult(Outcome.NO_ANSWER, 408))

    def done(self) -> asyncio.Future[DialResult]:
        """A future of the result: answered, failed or given up."""
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            if self.result is not None:
                self._done.set_result(self.result)
        return self._done

    async def wait(self) -> DialResult:
        """Until the attempt is answered or over."""
        return await asyncio.shield(self.done())

    # -- the outgoing leg -------------------------------------------------------
    def _on_event(self, event: LegEvent) -> None:
        if isinstance(event, Ringing):
            if not self.finished and self.listener is not None:
                self.listener.ringing(self, event.sdp)
        elif isinstance(event, Answered):
            self._answered(event)
        elif isinstance(event, Failed) and not self.finished:
            self._finish(DialResult(outcome_of(event.status), event.status))

    def _answered(self, event: Answered) -> None:
        leg = self.leg
        assert leg is not None
        if self.finished:
            leg.hangup()  # answered as we gave up
            return
        media = self.media
        if media is not None and not isinstance(media, MediaLeg):
            # rtpengine's leg takes the answer in an ng round trip.
            self._stop_timer()
            self.dialer.spawn(self._answered_later(event, leg, media))
            return
        if media is not None:
            try:
                media.apply_answer(event.sdp or b"")  # the built-in leg: at once
            except SdpProblem as err:
                self._unusable(leg, err)
                return
        self._adopt(event, leg, media)

    async def _answered_later(
        self, event: Answered, leg: OutgoingLeg, media: MediaLegApi
    ) -> None:
        try:
            await media.accept_answer(event.sdp or b"")
        except (*SdpProblem, NgError) as err:
            if not self.finished:
                self._unusable(leg, err)
            return
        if self.finished:  # cancelled or timed out meanwhile: media closed by _finish
            leg.hangup()
            return
        self._adopt(event, leg, media)

    def _unusable(self, leg: OutgoingLeg, err: Exception) -> None:
        log.info("answer unusable", to=self.dial.to_uri, error=str(err))
        leg.hangup()
        self._finish(DialResult(Outcome.UNREACHABLE, 488))

    def _adopt(self, event: Answered, leg: OutgoingLeg, media: MediaLegApi | None) -> None:
        device = next((t.device for t in self.dial.targets if t.uri == event.target), None)
        party = Party(
            self.dial.role, leg, media, user=self.dial.user, device=device,
            managed=self.dial.managed, answer_sdp=event.sdp,
            ack=leg.ack if event.needs_answer else None,
        )
        self.media = None  # the party owns it now
        self.leg = None
        self._stop_timer()
        listener, self.listener = self.listener, None
        adopted = listener is not None and listener.answered(self, party)
        if not adopted:
            leg.hangup()
            if media is not None:
                media.close()
        self._settle(DialResult(Outcome.ANSWERED, 200, party if adopted else None))

    def _finish(self, result: DialResult) -> None:
        """The attempt failed or was given up."""
        if self.finished:
            return
        self._stop_timer()
        if self.media is not None:
            self.media.close()
            self.media = None
        listener, self.listener = self.listener, None
        self._settle(result)
        if listener is not None:
            listener.failed(self, result)

    def _settle(self, result: DialResult) -> None:
        self.result = result
        if self._done is not None and not self._done.done():
            self._done.set_result(result)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
