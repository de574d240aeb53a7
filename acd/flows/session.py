"""A flow's view of a call: prompts, digits, music and connecting onwards.

Theory of operation
-------------------
A :class:`FlowSession` drives one :class:`~acd.calls.call.Call` from its
caller's side, for async call-flow code (menus, announcements, queues).
Flow code awaits prompts and digits; when the call ends, every pending
await raises :class:`CallerGone`, so a flow never outlives its call.
Digits arrive from RFC 4733 events on the caller's media leg and from SIP
INFO (application/dtmf-relay) alike (the call feeds both to ``on_digit``).

:meth:`connect` rings another party through the dialer and, on answer,
joins it to the call: the caller hears the other side at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from acd.calls.call import Call
from acd.calls.dialer import Attempt, Dial, Dialer, DialResult
from acd.calls.media import play_ringback
from acd.calls.party import Party
from acd.config import Number
from acd.config.types import Destination
from media.api import MediaLegApi
from media.codecs import Pcm
from media.prompts import PromptLibrary

T = TypeVar("T")


class CallerGone(Exception):
    """The call ended; the flow must stop."""


@dataclass(frozen=True, slots=True)
class CallerInfo:
    """Who is calling and what they dialled, as flows show it onwards."""

    source: str  # "trunk:provider" or "user:alice"
    number: str  # the caller's number (a user's extension, a trunk caller's From)
    display: str | None  # the caller's name, if known
    dialled: str
    user: str | None = None  # the dial plan user calling, if any
    presented: str | None = None  # the number shown on calls out (N3), if the plan sets one


class FlowSession:
    def __init__(
        self,
        call: Call,
        *,
        caller: CallerInfo,
        prompts: PromptLibrary,
        dialer: Dialer,
        language: str = "en",
        number: Number | None = None,
    ) -> None:
        self.call = call
        self.caller = caller
        self.prompts = prompts
        self.dialer = dialer
        self.language = language
        self.number = number  # the dial plan number the call came in on (N1-N4)
        # When the caller entered the queue they left for a callback (B1: their place).
        self.queue_joined_at: float | None = None
        self.gone = asyncio.Event()
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self._waiters: set[asyncio.Future[None]] = set()
        call.on_digit = self.digits.put_nowait
        call.on_end.append(self._call_ended)

    def _call_ended(self, call: Call) -> None:
        self.gone.set()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- state ------------------------------------------------------------
    @property
    def call_id(self) -> str:
        return self.call.id

    @property
    def caller_number(self) -> str:
        return self.caller.number

    @property
    def dialled(self) -> str:
        return self.caller.dialled

    @property
    def variables(self) -> dict[str, str]:
        return self.call.variables

    @property
    def answered(self) -> bool:
        return self.call.answered

    @property
    def media(self) -> MediaLegApi:
        media = self.call.caller.media
        if media is None:
            raise RuntimeError(f"call {self.call_id}: no media leg (open_media first)")
        return media

    @property
    def has_media(self) -> bool:
        return self.call.caller.media is not None

    @property
    def peer(self) -> Party | None:
        return self.call.peer

    def _check(self) -> None:
        if self.gone.is_set():
            raise CallerGone(self.call_id)

    # -- actions ----------------------------------------------------------
    async def open_media(self) -> None:
        """Anchor the caller's media in Jono; CallerGone if the call ended."""
        self._check()
        if not await self.call.open_caller_media():
            raise CallerGone(self.call_id)

    def answer(self) -> None:
        """Answer the caller (200 OK with our SDP) if not answered yet."""
        self._check()
        self.call.answer()

    async def ready(self) -> None:
        """Answered, with media Jono can play to (for a late offer, once the
        caller's answer has come in the ACK)."""
        await self.open_media()
        self.answer()
        if self.call.late_offer:
            await self.until(self.call.media_negotiated())

    def hangup(self, reason: str = "flow end", status: int = 480) -> None:
        self.call.end("jono", reason, status)

    def reject(self, status: int, reason: str | None = None) -> None:
        """Refuse an unanswered call with a SIP status (e.g. 404 not in service)."""
        self.call.reject(status, reason)

    def pcm(self, names: Sequence[str]) -> list[Pcm]:
        return [self.prompts.pcm(self.language, name) for name in names]

    async def play(
        self, items: Sequence[str] | Sequence[Pcm], *, interruptible: bool = False
    ) -> str | None:
        """Play prompts (by name, in the caller's language) or PCM gaplessly.

        Returns the digit that interrupted the playback, else None.
        """
        await self.ready()
        if not items:
            return None
        names = [i for i in items if isinstance(i, str)]
        pcm = self.pcm(names) if names else [i for i in items if not isinstance(i, str)]
        finished: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def done(completed: bool) -> None:
            if not finished.done():
                finished.set_result(completed)

        key = "|".join([self.language, *names]) if names else None
        before = self.digits.qsize()
        self.media.play(pcm, done, interruptible=interruptible, cache_key=key)
        await self.until(finished)
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

    async def until(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``'s result, or CallerGone as soon as the call ends.

        One future and two callbacks, no extra task: this is on every call's path.
        """
        future = asyncio.ensure_future(awaitable)
        if not future.done() and not self.gone.is_set():
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def wake(_: object) -> None:
                if not waiter.done():
                    waiter.set_result(None)

            future.add_done_callback(wake)
            self._waiters.add(waiter)
            try:
                await waiter
            finally:
                self._waiters.discard(waiter)
                future.remove_done_callback(wake)
        if not future.done():
            future.cancel()
            if self.has_media:
                self.media.stop_playback()
            raise CallerGone(self.call_id)
        return future.result()

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
            try:
                digit = await self.until(asyncio.wait_for(self.digits.get(), wait))
            except TimeoutError:
                break
            if terminator and digit == terminator:
                break
            got.append(digit)
            wait = inter_digit if inter_digit is not None else timeout
        return "".join(got)

    def start_moh(self, class_name: str = "default") -> None:
        """Music on hold (the caller's media must be open)."""
        self._check()
        self.answer()
        self.media.start_moh(class_name)

    def stop_audio(self) -> None:
        if self.has_media:
            self.media.stop_playback()

    def play_ringback(self) -> None:
        if self.has_media:
            play_ringback(self.media)

    async def connect(
        self,
        dial: Dial,
        *,
        ringback: bool = True,
        on_ringing: Callable[[], None] | None = None,
    ) -> DialResult:
        """Ring ``dial``'s targets; on answer they join the call.

        Before the caller is answered, ringing is passed on (180, or 183
        with the callee's early media when media passes through) and the
        caller is answered when the callee answers. Once answered, the
        caller hears a ringback tone until the answer. Returns when the
        other side answered or the attempt failed; after an answer, await
        :meth:`wait_end` for the end of the conversation.
        """
        self._check()
        listener = _Connecting(self, ringback=ringback, on_ringing=on_ringing)
        attempt = self.dialer.dial(dial, listener)
        try:
            result = await self.until(attempt.done())
        except CallerGone:
            attempt.cancel()
            raise
        if not result.party:
            self.call.last_dial = result.outcome.value
            if listener.ringback_started and self.has_media:
                self.media.stop_playback()
        return result

    async def wait_end(self) -> None:
        """Until the caller or the connected party hangs up."""
        await self.gone.wait()

    async def talk(self) -> Destination | None:
        """While the caller talks with whoever joined the call: None when the
        call ends, or the destination a blind transfer hands the caller over
        to (O7), where the caller's flow goes on. An attended transfer
        changes whom the caller talks with and the wait goes on."""
        if self.gone.is_set():
            return None
        handed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def hand_over(destination: str) -> None:
            if not handed.done():
                handed.set_result(destination)

        self.call.on_handover = hand_over
        try:
            destination = await self.until(handed)
        except CallerGone:
            return None
        finally:
            if self.call.on_handover is hand_over:
                self.call.on_handover = None
        return Destination.parse(destination)


class _Connecting:
    """Dial listener of :meth:`FlowSession.connect`."""

    def __init__(
        self, session: FlowSession, *, ringback: bool, on_ringing: Callable[[], None] | None
    ) -> None:
        self.session = session
        self.ringback = ringback
        self.on_ringing = on_ringing
        self.ringback_started = False

    def ringing(self, attempt: Attempt, sdp: bytes | None) -> None:
        session = self.session
        call = session.call
        if not call.answered:
            call.ring(sdp if attempt.dial.offer is not None else None)
        elif self.ringback and session.has_media and session.media.playback is None:
            self.ringback_started = True
            session.play_ringback()
        if self.on_ringing is not None:
            self.on_ringing()

    def answered(self, attempt: Attempt, party: Party) -> bool:
        call = self.session.call
        if call.ended:
            return False
        call.connect(party)
        return True

    def failed(self, attempt: Attempt, result: DialResult) -> None:
        pass
