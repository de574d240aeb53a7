"""The caller's side of a queue (Q1-Q4, Q7): entry announcement, music on
hold, position/EWT and "still in queue" announcements, ringback while an
agent rings, the exit key; connected to the agent the moment one answers.

Audio never overlaps: an announcement stops the hold audio, plays, then the
hold audio (music, or ringback while an agent rings) starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from acd.config.types import Destination
from acd.flows.session import CallerGone, CallerSession, ringback_tone
from media.prompt_words import ewt_sequence, position_sequence

if TYPE_CHECKING:
    from acd.queues.offers import AgentOffer
    from acd.queues.service import QueueService

log = logging.getLogger("jono.queues")


def whisper_beep(rate: int = 8000) -> np.ndarray:
    """Two short 880 Hz beeps: "a queue call" when no whisper prompt is named."""
    t = np.arange(int(rate * 0.15)) / rate
    beep = (0.3 * 32767 * np.sin(2 * np.pi * 880 * t)).astype(np.int16)
    gap = np.zeros(int(rate * 0.1), dtype=np.int16)
    return np.concatenate([beep, gap, beep, gap])


class QueuedCall:
    def __init__(
        self, service: QueueService, session: CallerSession, queue_id: str, settings: Any
    ) -> None:
        self.service = service
        self.session = session
        self.queue_id = queue_id
        self.settings = settings  # acd.config.queues.Queue, kept for the whole call
        self.call_id = session.call_id
        self.outcome: asyncio.Future[tuple[str, str | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self.in_engine = False
        self.bridged = False
        self.ringing: set[str] = set()
        self.announcing = False
        self.hold_mode: str | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- the waiting loop --------------------------------------------------
    async def run(self) -> Any:
        session = self.session
        session.answer()
        self.service.join(self)
        if not self.outcome.done():
            self._tasks.append(asyncio.ensure_future(self._announce()))
            if self.settings.exit_key:
                self._tasks.append(asyncio.ensure_future(self._keys()))
        gone: asyncio.Future[Any] = asyncio.ensure_future(session.gone.wait())
        waits: set[asyncio.Future[Any]] = {self.outcome, gone}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            self._stop_tasks()
        if not self.outcome.done():
            self.service.caller_gone(self)
            return None
        kind, destination = self.outcome.result()
        if kind == "bridged":
            await session.wait_end()
            self.service.caller_gone(self)
            return None
        self.hold_mode = None
        if session.gone.is_set():
            return None
        session.stop_audio()
        if destination is None:
            with contextlib.suppress(CallerGone):
                await session.play(["goodbye"])
            session.hangup("queue overflow")
            return None
        return Destination.parse(destination)

    def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    async def _keys(self) -> None:
        while True:
            digit = await self.session.digits.get()
            self.service.pressed(self, digit)

    async def _announce(self) -> None:
        s = self.settings
        try:
            if s.entry_announcement:
                await self._say_ref(s.entry_announcement)
            announcing = s.announce_position or s.announce_ewt
            every = float(s.announce_every) if s.announce_every > 0 else math.inf
            still = float(s.still_in_queue_every) if s.still_in_queue_every > 0 else math.inf
            now = time.monotonic()
            next_info = now if announcing else math.inf
            next_still = now + still
            last: tuple[object, ...] | None = None
            while True:
                now = time.monotonic()
                items: list[str] = []
                if now >= next_info:
                    next_info = now + every
                    said = tuple(self._progress())
                    # Q2/Q3: announce again only when position or EWT changed.
                    if said and (said != last or s.announce_every == 0):
                        items += said
                    last = said
                if now >= next_still:
                    next_still = now + still
                    items.append("still_in_queue")
                if items and not self.ringing:
                    await self._say(items)
                else:
                    self.resume_hold()
                wake = min(next_info, next_still)
                if wake == math.inf:
                    return
                await asyncio.sleep(max(0.05, wake - time.monotonic()))
        except CallerGone:
            return

    def _progress(self) -> list[str]:
        s = self.settings
        lang = self.session.language
        engine = self.service.engine
        items: list[str] = []
        if s.announce_position:
            position = engine.position_of(self.call_id)
            if position is not None:
                items += position_sequence(lang, position)
        if s.announce_ewt:
            ewt = engine.ewt_for(self.call_id, self.service.now())
            if ewt is not None:
                items += ewt_sequence(lang, ewt)
        return items

    async def _say(self, names: list[str]) -> None:
        self.announcing = True
        self.hold_mode = None
        try:
            self.session.stop_audio()
            await self.session.play(names)
        except KeyError as err:  # a prompt missing in the caller's language
            log.warning("queue prompt missing: %s", err)
        finally:
            self.announcing = False
        self.resume_hold()

    async def _say_ref(self, reference: str) -> None:
        try:
            pcm = self.service.server.announcements.pcm(reference, self.session.language)
        except KeyError:
            log.warning("announcement %s missing; skipped", reference)
            return
        self.announcing = True
        self.hold_mode = None
        try:
            self.session.stop_audio()
            await self.session.play([pcm])
        finally:
            self.announcing = False
        self.resume_hold()

    # -- hold audio ---------------------------------------------------------
    def resume_hold(self) -> None:
        """Music on hold (Q1), or ringback while an agent rings (Q4)."""
        session = self.session
        if self.bridged or self.announcing or session.gone.is_set() or self.outcome.done():
            return
        wanted = "ringback" if self.ringing and self.settings.ringback_while_ringing else "moh"
        if wanted == self.hold_mode and session.media.playback is not None:
            return
        self.hold_mode = wanted
        if wanted == "ringback":
            session.media.play([ringback_tone()] * 12, interruptible=False, cache_key="ringback")
            return
        try:
            session.start_moh(self.settings.moh_class)
        except KeyError:
            session.start_moh("default")

    def agent_ringing(self, offer_id: str, ringing: bool) -> None:
        if ringing:
            self.ringing.add(offer_id)
        else:
            self.ringing.discard(offer_id)
        self.resume_hold()

    # -- outcomes -------------------------------------------------------------
    def offer_identity(self, agent_id: str) -> tuple[str, str | None, str, list[tuple[str, str]]]:
        """From/To/headers of an offer: the caller's number as N4 says, the
        queue and the digits the caller entered (X-Jono-*)."""
        server = self.service.server
        session = self.session
        host = server.router.host
        number = server.dialplan.find_number(session.dialled) if session.dialled else None
        shown = session.caller_number
        if number is not None:
            shown = number.displayed_caller_id(session.caller_number, session.dialled)
        user = server.dialplan.users[agent_id]
        headers = [("X-Jono-Queue", self.queue_id)]
        for key, value in session.variables.items():
            name = "-".join(p.capitalize() for p in key.replace("_", "-").split("-"))
            headers.append((f"X-Jono-{name}", value))
        return f"sip:{shown}@{host}", None, f"sip:{user.extension}@{host}", headers

    def bridge(self, offer: AgentOffer) -> None:
        """The agent answered: the caller hears them at once (after the whisper)."""
        session = self.session
        self.bridged = True
        offer.bridged = True
        self._stop_tasks()
        if offer.outgoing is None or offer.leg is None:
            return
        if not self.outcome.done():
            self.outcome.set_result(("bridged", None))
        if session.gone.is_set():
            # The caller hung up as the agent answered: end the agent's leg too.
            offer.bridged = False
            offer.cancel()
            return
        session.peer = offer.outgoing
        session.peer_media = offer.leg
        whisper = self.settings.whisper
        if not whisper:
            self._connect(offer)
            return
        if isinstance(whisper, str):
            try:
                pcm = self.service.server.announcements.pcm(whisper, session.language)
            except KeyError:
                pcm = whisper_beep()
        else:
            pcm = whisper_beep()
        offer.leg.play([pcm], lambda completed: self._connect(offer), interruptible=False)

    def _connect(self, offer: AgentOffer) -> None:
        if self.session.gone.is_set() or offer.leg is None:
            return
        self.session.media.stop_playback()
        self.service.server.media.bridge(self.session.media, offer.leg)

    def overflow(self, destination: str | None) -> None:
        self.in_engine = False
        self._stop_tasks()
        if not self.outcome.done():
            self.outcome.set_result(("overflow", destination))
