"""A caller's session: an incoming call with its own media leg, driven by
async call-flow code (menus, announcements, queues).

Theory of operation
-------------------
The session owns the caller's :class:`~sip.legs.IncomingCall` and a
:class:`~media.leg.MediaLeg` negotiated against the caller's offer.  Flow
code awaits prompts and digits; when the caller hangs up, every pending
await raises :class:`CallerGone`, so a flow never outlives its caller.
Digits arrive from RFC 4733 events on the media leg and from SIP INFO
(application/dtmf-relay) alike.

:meth:`connect` rings another party (a user's devices, an agent, a number
through a trunk) with a fresh media leg and, on answer, bridges the two legs
in the engine: the caller hears the other side at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import numpy as np

from acd.bridge import answer_locally
from media.codecs import Pcm
from media.dtmf import parse_dtmf_relay
from media.engine import MediaEngine
from media.leg import MediaLeg
from media.prompts import PromptLibrary
from media.sdp import NoCommonCodec, SdpError
from sip.leg_events import Answered, Cancelled, Ended, Failed, Info, LegEvent, ReInvite, Ringing
from sip.legs import Credentials, IncomingCall, OutgoingCall
from sip.transport import Target
from sip.ua import UserAgent

log = logging.getLogger("jono.flows")

T = TypeVar("T")

SdpProblem = (NoCommonCodec, SdpError)


class CallerGone(Exception):
    """The caller hung up; the flow must stop."""


def ringback_tone(seconds: float = 5.0, rate: int = 8000) -> np.ndarray:
    """425 Hz, 1 s on / 4 s off (the European ringback cadence, ITU-T E.180)."""
    t = np.arange(int(rate * 1.0)) / rate
    on = (0.3 * 32767 * np.sin(2 * np.pi * 425 * t)).astype(np.int16)
    off = np.zeros(int(rate * (seconds - 1.0)), dtype=np.int16)
    return np.concatenate([on, off])


@dataclass
class ConnectResult:
    answered: bool
    status: int
    reason: str = ""


@dataclass(eq=False)  # identity: sessions live in sets
class CallerSession:
    ua: UserAgent
    engine: MediaEngine
    prompts: PromptLibrary
    incoming: IncomingCall
    media: MediaLeg
    answer_sdp: bytes
    caller_id: str  # "trunk:provider" or "user:alice"
    caller_number: str
    dialled: str
    language: str = "en"
    variables: dict[str, str] = field(default_factory=dict)
    on_end: Callable[[CallerSession], None] | None = None
    answered_at: datetime | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_by: str | None = None
    peer: OutgoingCall | None = None
    peer_media: MediaLeg | None = None

    def __post_init__(self) -> None:
        self.gone = asyncio.Event()
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.incoming.listener = self._on_caller_event
        self.media.on_dtmf = self._on_digit
        self.media.on_dead = lambda leg: self.hangup("media timeout")
        self._finished = False

    # -- state ------------------------------------------------------------
    @property
    def call_id(self) -> str:
        return self.incoming.call_id

    @property
    def answered(self) -> bool:
        return self.incoming.answered

    def _check(self) -> None:
        if self.gone.is_set():
            raise CallerGone(self.call_id)

    def _on_caller_event(self, event: LegEvent) -> None:
        if isinstance(event, Ended | Cancelled):
            self.ended_by = "caller"
            self._end()
        elif isinstance(event, Info):
            digit = parse_dtmf_relay(event.body) if "dtmf" in event.content_type else None
            if digit:
                self.media.inject_dtmf(digit)
        elif isinstance(event, ReInvite):
            answer_locally(self.incoming, self.media, event)

    def _on_digit(self, digit: str) -> None:
        self.digits.put_nowait(digit)

    def _end(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.gone.set()
        if self.peer is not None:
            self.peer.hangup()
        self.engine.unbridge(self.media)
        self.media.close()
        if self.peer_media is not None:
            self.peer_media.close()
        if self.on_end is not None:
            try:
                self.on_end(self)
            except Exception:
                log.exception("session end hook failed")
            self.on_end = None

    # -- actions ----------------------------------------------------------
    def answer(self) -> None:
        """Answer the caller (200 OK with our SDP) if not answered yet."""
        self._check()
        if not self.incoming.answered:
            self.incoming.answer(self.answer_sdp)
            self.answered_at = datetime.now(UTC)

    def hangup(self, reason: str = "flow", status: int = 480) -> None:
        if self._finished:
            return
        self.ended_by = self.ended_by or reason
        self.incoming.hangup(status)
        self._end()

    def reject(self, status: int, reason: str | None = None) -> None:
        """Refuse an unanswered call with a SIP status (e.g. 404 not in service)."""
        if self._finished:
            return
        self.incoming.reject(status, reason)
        self.ended_by = "rejected"
        self._end()

    def pcm(self, names: Sequence[str]) -> list[np.ndarray]:
        return [self.prompts.pcm(self.language, name) for name in names]

    async def play(
        self, items: Sequence[str] | Sequence[np.ndarray], *, interruptible: bool = False
    ) -> str | None:
        """Play prompts (by name, in the caller's language) or PCM gaplessly.

        Returns the digit that interrupted the playback, else None.
        """
        self._check()
        self.answer()
        if not items:
            return None
        names = [i for i in items if isinstance(i, str)]
        pcm: list[np.ndarray] = self.pcm(names) if names else [i for i in items if not isinstance(i, str)]
        finished: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def done(completed: bool) -> None:
            if not finished.done():
                finished.set_result(completed)

        key = "|".join([self.language, *names]) if names else None
        before = self.digits.qsize()
        self.media.play(cast(list[Pcm], pcm), done, interruptible=interruptible, cache_key=key)
        await self._wait(finished)
        if interruptible and self.digits.qsize() > before:
            return self._peek_digit()
        return None

    def _peek_digit(self) -> str | None:
        # The digit stays queued so a following collect() sees it.
        try:
            digit = self.digits.get_nowait()
        except asyncio.QueueEmpty:
            return None
        rest = [digit]
        while not self.digits.empty():
            rest.append(self.digits.get_nowait())
        for d in rest:
            self.digits.put_nowait(d)
        return digit

    async def _wait(self, awaitable: asyncio.Future[T]) -> T:
        gone: asyncio.Future[Any] = asyncio.ensure_future(self.gone.wait())
        try:
            done, _ = await asyncio.wait(
                cast(set[asyncio.Future[Any]], {awaitable, gone}),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            gone.cancel()
        if awaitable not in done:
            self.media.stop_playback()
            raise CallerGone(self.call_id)
        return awaitable.result()

    def clear_digits(self) -> None:
        while not self.digits.empty():
            self.digits.get_nowait()

    async def collect(
        self, *, max_digits: int, timeout: float, terminator: str | None = "#",
        inter_digit: float | None = None,
    ) -> str:
        """Collect up to ``max_digits`` digits; stops early on the terminator or
        when no digit comes in ``timeout`` (first) / ``inter_digit`` (next) seconds."""
        self._check()
        got: list[str] = []
        wait = timeout
        while len(got) < max_digits:
            future = asyncio.ensure_future(self.digits.get())
            try:
                digit = await self._wait_for(future, wait)
            except TimeoutError:
                break
            if terminator and digit == terminator:
                break
            got.append(digit)
            wait = inter_digit if inter_digit is not None else timeout
        return "".join(got)

    async def _wait_for(self, future: asyncio.Future[str], seconds: float) -> str:
        gone: asyncio.Future[Any] = asyncio.ensure_future(self.gone.wait())
        try:
            done, _ = await asyncio.wait(
                cast(set[asyncio.Future[Any]], {future, gone}),
                timeout=seconds, return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            gone.cancel()
        if future in done:
            return future.result()
        future.cancel()
        if gone.done() or self.gone.is_set():
            raise CallerGone(self.call_id)
        raise TimeoutError

    def start_moh(self, class_name: str = "default") -> None:
        self._check()
        self.answer()
        self.media.start_moh(class_name)

    def stop_audio(self) -> None:
        self.media.stop_playback()

    async def connect(
        self,
        targets: Sequence[tuple[str, Target]],
        *,
        from_uri: str,
        to_uri: str,
        from_display: str | None = None,
        ring_timeout: float | None = None,
        headers: Sequence[tuple[str, str]] = (),
        credentials: Credentials | None = None,
        ringback: bool = True,
        answer_first: bool = False,
        on_ringing: Callable[[], None] | None = None,
    ) -> ConnectResult:
        """Ring ``targets`` (forked); on answer bridge them with the caller.

        Before the caller is answered, ringing is passed on as 180 and the
        caller is answered when the callee answers.  Once answered, the
        caller hears a ringback tone (or whatever plays) until the answer.
        Returns when the other side answered or the attempt failed; after an
        answer, await :meth:`wait_end` for the end of the conversation.
        """
        self._check()
        if answer_first:
            self.answer()
        peer_media = await self.engine.open_leg()
        result: asyncio.Future[ConnectResult] = asyncio.get_running_loop().create_future()
        outgoing = OutgoingCall(
            self.ua, targets, from_uri=from_uri, to_uri=to_uri, from_display=from_display,
            sdp=peer_media.make_offer(), headers=headers, credentials=credentials,
        )

        def settle(value: ConnectResult) -> None:
            if not result.done():
                result.set_result(value)

        def on_event(event: LegEvent) -> None:
            if isinstance(event, Ringing):
                if not self.incoming.answered:
                    self.incoming.ring()
                elif ringback and self.media.playback is None:
                    self.media.play([ringback_tone()] * 12, interruptible=False, cache_key="ringback")
                if on_ringing is not None:
                    on_ringing()
            elif isinstance(event, Answered):
                try:
                    peer_media.apply_answer(event.sdp or b"")
                except SdpProblem:
                    outgoing.hangup()
                    settle(ConnectResult(False, 488, "no common codec"))
                    return
                if self.gone.is_set():
                    outgoing.hangup()
                    return
                self.media.stop_playback()
                self.peer = outgoing
                self.peer_media = peer_media
                self.engine.bridge(self.media, peer_media)
                if not self.incoming.answered:
                    self.answer()
                settle(ConnectResult(True, 200))
            elif isinstance(event, Failed):
                settle(ConnectResult(False, event.status, event.reason))
            elif isinstance(event, Ended):
                # The other side hung up after answering: the call is over.
                self.ended_by = "callee"
                self.hangup("callee")
            elif isinstance(event, ReInvite):
                answer_locally(outgoing, peer_media, event)
            elif isinstance(event, Info):
                self.incoming.send_info(event.body, event.content_type)

        outgoing.listener = on_event
        outgoing.start()
        timer = None
        def no_answer() -> None:
            outgoing.cancel()
            settle(ConnectResult(False, 408, "no answer"))

        if ring_timeout:
            timer = asyncio.get_running_loop().call_later(ring_timeout, no_answer)
        try:
            outcome = await self._wait(result)
        except CallerGone:
            outgoing.cancel()
            peer_media.close()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if not outcome.answered:
            if self.media.playback is not None and ringback:
                self.media.stop_playback()
            peer_media.close()
        return outcome

    async def wait_end(self) -> None:
        """Until the caller or the connected party hangs up."""
        await self.gone.wait()
