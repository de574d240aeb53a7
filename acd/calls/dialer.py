"""The one dialer: ring these targets, first answer wins.

Every call Jono places goes through :class:`Dialer`: a direct call to a
user's devices, a menu's "operator" option, a queue's offer to an agent
(D7: all the agent's devices at once), a number through a trunk, an
originate. One :class:`Attempt` forks one INVITE to every target (RFC 3261
§16.6-like, in ``sip.legs.OutgoingCall``); the first 2xx wins and the other
branches are cancelled.

Media: by default Jono anchors it (the attempt opens a media leg, offers
from it and applies the answer: at once with the built-in engine, after an
ng round trip with rtpengine, see media/api.py); with ``Dial.offer`` the caller's own offer
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
from functools import partial
from typing import Any, Literal, Protocol

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
MediaKind = Literal["rtp", "webrtc"]


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


def media_kind(target: DialTarget) -> MediaKind:
    """What media a target speaks: a device registered over WebSocket is a browser
    (WebRTC: ICE, DTLS-SRTP; RFC 7118 §6), anything else plain RTP."""
    return "webrtc" if target.target.transport in ("ws", "wss") else "rtp"


class _Fork:
    """The targets of one media kind: one INVITE forked to them, one offer."""

    __slots__ = ("kind", "targets", "leg", "media", "failed")

    def __init__(self, kind: MediaKind, targets: tuple[DialTarget, ...]) -> None:
        self.kind = kind
        self.targets = targets
        self.leg: OutgoingLeg | None = None
        self.media: MediaLegApi | None = None
        self.failed: DialResult | None = None


class Attempt:
    """Ring the dial's targets; the first answer wins.

    Anchored media: targets are grouped by media kind (D7: a desk phone and
    the agent's browser ring together), each group gets an INVITE offering
    its own kind of media, and the first 2xx from any group cancels the
    others. Passthrough (``Dial.offer``): one INVITE to all with the caller's
    offer."""

    def __init__(self, dialer: Dialer, dial: Dial, listener: DialListener) -> None:
        self.dialer = dialer
        self.dial = dial
        self.listener: DialListener | None = listener
        self.forks: list[_Fork] = []
        self.result: DialResult | None = None
        self.cancelled = False
        self._timed_out = False
        self._timer: asyncio.TimerHandle | None = None
        self._done: asyncio.Future[DialResult] | None = None

    @property
    def leg(self) -> OutgoingLeg | None:
        """The outgoing leg of the first fork (tests and single-kind dials)."""
        return self.forks[0].leg if self.forks else None

    @property
    def media(self) -> MediaLegApi | None:
        return self.forks[0].media if self.forks else None

    @property
    def finished(self) -> bool:
        return self.result is not None

    def start(self) -> None:
        targets = self.dial.targets
        if self.dial.offer is not None:
            fork = _Fork("rtp", targets)
            self.forks.append(fork)
            self._send(fork, self.dial.offer)
            return
        kinds: dict[MediaKind, list[DialTarget]] = {}
        for target in targets:
            kinds.setdefault(media_kind(target), []).append(target)
        if not kinds:
            kinds["rtp"] = []
        for kind, group in kinds.items():
            fork = _Fork(kind, tuple(group))
            self.forks.append(fork)
            self.dialer.spawn(self._open_media(fork))
        if self.dial.ring_timeout:
            self._timer = asyncio.get_running_loop().call_later(
                self.dial.ring_timeout, self._timeout
            )

    async def _open_media(self, fork: _Fork) -> None:
        engine = self.dialer.media
        try:
            media = await (engine.open_webrtc_leg() if fork.kind == "webrtc" else engine.open_leg())
        except OSError as err:
            log.warning("no media leg for a call", to=self.dial.to_uri, error=str(err))
            self._fork_failed(fork, DialResult(Outcome.UNREACHABLE, 503))
            return
        if self.finished:
            media.close()
            return
        try:
            offer = await media.create_offer()
        except NgError as err:
            log.warning("media plane refused an offer", to=self.dial.to_uri, error=str(err))
            media.close()
            self._fork_failed(fork, DialResult(Outcome.UNREACHABLE, 500))
            return
        if self.finished:  # given up while the media plane answered
            media.close()
            return
        fork.media = media
        self._send(fork, offer)

    def _send(self, fork: _Fork, sdp: bytes) -> None:
        dial = self.dial
        leg = self.dialer.legs.outgoing(
            [(t.uri, t.target) for t in fork.targets],
            from_uri=dial.from_uri, to_uri=dial.to_uri, from_display=dial.from_display,
            sdp=sdp or None, headers=dial.headers, credentials=dial.credentials,
            max_forwards=max(0, dial.max_forwards),
        )
        fork.leg = leg
        leg.listener = partial(self._on_event, fork)
        if dial.ring_timeout and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(dial.ring_timeout, self._timeout)
        leg.start()

    def cancel(self) -> None:
        """Stop ringing; reports ``failed`` (cancelled) unless already over."""
        if self.finished:
            return
        self.cancelled = True
        self._cancel_forks()
        self._finish(DialResult(Outcome.CANCELLED, 487))

    def _cancel_forks(self, keep: _Fork | None = None) -> None:
        for fork in self.forks:
            if fork is not keep and fork.leg is not None:
                fork.leg.cancel()

    def _timeout(self) -> None:
        self._timer = None
        if self.finished:
            return
        self._timed_out = True
        self._cancel_forks()
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

    # -- the outgoing legs ------------------------------------------------------
    def _on_event(self, fork: _Fork, event: LegEvent) -> None:
        if isinstance(event, Ringing):
            if not self.finished and self.listener is not None:
                self.listener.ringing(self, event.sdp)
        elif isinstance(event, Answered):
            self._answered(fork, event)
        elif isinstance(event, Failed) and not self.finished:
            self._fork_failed(fork, DialResult(outcome_of(event.status), event.status))

    def _fork_failed(self, fork: _Fork, result: DialResult) -> None:
        fork.failed = result
        if fork.media is not None:
            fork.media.close()
            fork.media = None
        if all(f.failed is not None for f in self.forks):
            self._finish(result)

    def _answered(self, fork: _Fork, event: Answered) -> None:
        leg = fork.leg
        assert leg is not None
        if self.finished:
            leg.hangup()  # answered as we gave up
            return
        media = fork.media
        if media is not None and not isinstance(media, MediaLeg):
            # rtpengine's leg takes the answer in an ng round trip; meanwhile the
            # ring timeout is off and the other forks ring on (first accepted wins).
            self._stop_timer()
            self.dialer.spawn(self._answered_later(fork, event, leg, media))
            return
        if media is not None:
            try:
                media.apply_answer(event.sdp or b"")  # the built-in leg: at once
            except SdpProblem as err:
                self._unusable(fork, leg, err)
                return
        self._adopt(fork, event, leg, media)

    async def _answered_later(
        self, fork: _Fork, event: Answered, leg: OutgoingLeg, media: MediaLegApi
    ) -> None:
        try:
            await media.accept_answer(event.sdp or b"")
        except (*SdpProblem, NgError) as err:
            if not self.finished:
                self._unusable(fork, leg, err)
            else:
                leg.hangup()
            return
        if self.finished:  # another fork won, or given up meanwhile: media closed
            leg.hangup()
            return
        self._adopt(fork, event, leg, media)

    def _unusable(self, fork: _Fork, leg: OutgoingLeg, err: Exception) -> None:
        log.info("answer unusable", to=self.dial.to_uri, error=str(err))
        leg.hangup()
        self._fork_failed(fork, DialResult(Outcome.UNREACHABLE, 488))

    def _adopt(
        self, fork: _Fork, event: Answered, leg: OutgoingLeg, media: MediaLegApi | None
    ) -> None:
        # The first answer wins: the other kinds stop ringing (D7).
        self._cancel_forks(keep=fork)
        for other in self.forks:
            if other is not fork and other.media is not None:
                other.media.close()
                other.media = None
        device = next((t.device for t in fork.targets if t.uri == event.target), None)
        party = Party(
            self.dial.role, leg, media, user=self.dial.user, device=device,
            managed=self.dial.managed, answer_sdp=event.sdp,
            ack=leg.ack if event.needs_answer else None,
        )
        fork.media = None  # the party owns it now
        fork.leg = None
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
        for fork in self.forks:
            if fork.media is not None:
                fork.media.close()
                fork.media = None
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
