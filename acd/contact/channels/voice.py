"""The voice channel: callers waiting in a queue, and the agents rung for them.

The caller's side (Q1-Q4, Q7): entry announcement, music on hold,
position/EWT and "still in queue" announcements, ringback while an agent
rings, the exit key; connected to the agent the moment one answers. Audio
never overlaps: an announcement stops the hold audio, plays, then the hold
audio (music, or ringback while an agent rings) starts again.

The agent's side (D5, D7, D12): each offer rings all the agent's chosen
devices at once through the dialer (first answer wins); several offers of
one call may ring at once, and the engine decides which one wins
(``offer_answered`` -> ``Bridge``) and cancels the others (``CancelRing``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from typing import TYPE_CHECKING

import numpy as np
import structlog

from acd.calls.dialer import Attempt, Dial, DialResult
from acd.calls.party import Party
from acd.calls.status import acd_failure_reason
from acd.config import Queue
from acd.config.types import Destination
from acd.contact.centre import ContactCentre
from acd.contact.channels.callback_caller import offered
from acd.domain import Bridge, CancelRing, Overflow, Ring
from acd.flows.announcements import Announcements
from acd.flows.runner import HOST, FlowHandler, Next, hops_left, variable_headers
from acd.flows.session import CallerGone, FlowSession
from media.prompt_words import ewt_sequence, position_sequence

if TYPE_CHECKING:
    from acd.calls.dialer import Dialer
    from acd.calls.recording import Recordings

log = structlog.stdlib.get_logger("jono.acd")


def whisper_beep(rate: int = 8000) -> np.ndarray:
    """Two short 880 Hz beeps: "a queue call" when no whisper prompt is named."""
    t = np.arange(int(rate * 0.15)) / rate
    beep = (0.3 * 32767 * np.sin(2 * np.pi * 880 * t)).astype(np.int16)
    gap = np.zeros(int(rate * 0.1), dtype=np.int16)
    return np.concatenate([beep, gap, beep, gap])


class VoiceChannel:
    """The contact centre's :class:`~acd.contact.centre.Channel` for calls."""

    def __init__(
        self, centre: ContactCentre, dialer: Dialer, recordings: Recordings | None = None
    ) -> None:
        self.centre = centre
        self.dialer = dialer
        self.recordings = recordings
        self.callers: dict[str, QueuedCaller] = {}
        self.offers: dict[str, VoiceOffer] = {}

    def flow_handler(self, announcements: Announcements) -> FlowHandler:
        """The ``queue:`` destination of the call flows, with a plan's announcements."""

        async def queue(session: FlowSession, target: str | None) -> Next:
            plan = self.centre.plan
            settings = plan.queues.get(target or "") if plan is not None else None
            if settings is None or target is None:
                # S4: a deleted queue gets a clear answer, not silence.
                session.reject(404, "Not In Service")
                return None
            caller = QueuedCaller(self, session, target, settings, announcements)
            return await caller.run()

        return queue

    # -- Channel -------------------------------------------------------------------
    def ring(self, ring: Ring) -> None:
        caller = self.callers.get(ring.call_id)
        if caller is None:
            return
        offer = VoiceOffer(self, ring, caller)
        self.offers[ring.offer_id] = offer
        offer.start()

    def cancel_ring(self, cancel: CancelRing) -> None:
        offer = self.offers.pop(cancel.offer_id, None)
        if offer is not None:
            offer.cancel()

    def bridge(self, bridge: Bridge) -> None:
        offer = self.offers.pop(bridge.offer_id, None)
        caller = self.callers.get(bridge.call_id)
        if offer is not None and caller is not None:
            caller.bridge(offer)

    def overflow(self, overflow: Overflow) -> None:
        caller = self.callers.get(overflow.call_id)
        if caller is not None:
            if overflow.reason == "callback":
                caller.overflow(f"callback:{caller.queue_id}")
            else:
                caller.overflow(overflow.destination)

    # -- from the callers and offers ------------------------------------------------
    def join(self, caller: QueuedCaller) -> None:
        self.callers[caller.call_id] = caller
        caller.in_queue = True
        priority = caller.settings.priority
        if not self.centre.join(caller.call_id, caller.queue_id, self, priority):
            caller.overflow(None)

    def left(self, caller: QueuedCaller) -> None:
        if self.callers.get(caller.call_id) is caller:
            del self.callers[caller.call_id]
        if caller.in_queue:
            caller.in_queue = False
            self.centre.leave(caller.call_id)

    def offer_failed(self, offer: VoiceOffer, reason: str) -> None:
        if self.offers.pop(offer.id, None) is not None:
            self.centre.offer_failed(offer.id, reason)


class QueuedCaller:
    def __init__(
        self,
        channel: VoiceChannel,
        session: FlowSession,
        queue_id: str,
        settings: Queue,
        announcements: Announcements,
    ) -> None:
        self.channel = channel
        self.session = session
        self.queue_id = queue_id
        self.settings = settings  # kept for the whole call (S3)
        self.announcements = announcements
        self.call_id = session.call_id
        self.outcome: asyncio.Future[tuple[str, str | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self.in_queue = False
        self.bridged = False
        self.ringing: set[str] = set()
        self.announcing = False
        self.hold_mode: str | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- the waiting loop --------------------------------------------------
    async def run(self) -> Next:
        session = self.session
        # O7: a caller held by the agent hears this queue's music too.
        session.call.moh_class = self.settings.moh_class
        await session.ready()
        self.joined_at = self.channel.centre.now()
        self.channel.join(self)
        if not self.outcome.done():
            self._tasks.append(asyncio.ensure_future(self._announce()))
            if self.settings.exit_key or self.settings.callback is not None:
                self._tasks.append(asyncio.ensure_future(self._keys()))
        try:
            kind, destination = await session.until(self.outcome)
        except CallerGone:
            self.channel.left(self)
            return None
        finally:
            self._stop_tasks()
        if kind == "bridged":
            try:
                # O7: a transfer may send the caller on; the agent's part ends
                # when the agent leaves the call (see bridge()).
                return await session.talk()
            finally:
                self.channel.left(self)
        self.hold_mode = None
        if session.gone.is_set():
            return None
        session.stop_audio()
        if destination is None:
            session.call.note = "overflowed"
            with contextlib.suppress(CallerGone):
                await session.play(["goodbye"])
            session.hangup("queue overflow")
            return None
        following = Destination.parse(destination)
        if following.kind == "callback":
            session.queue_joined_at = self.joined_at  # B1: the request keeps this place
        return following

    def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    async def _keys(self) -> None:
        callback = self.settings.callback
        while True:
            digit = await self.session.digits.get()
            if (
                self.in_queue and callback is not None and digit == callback.key
                and digit != self.settings.exit_key and self.callback_offered()
            ):
                self._choose_callback()
                continue
            if self.in_queue:
                self.channel.centre.pressed(self.call_id, digit)

    async def _announce(self) -> None:
        s = self.settings
        try:
            if s.record and s.record_announcement:
                await self._say_ref(s.record_announcement)
            if s.entry_announcement:
                await self._say_ref(s.entry_announcement)
            await self._offer_callback()
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
                offer = False
                if now >= next_info:
                    next_info = now + every
                    said = tuple(self._progress())
                    # Q2/Q3: announce again only when position or EWT changed.
                    if said and (said != last or s.announce_every == 0):
                        items += said
                        offer = True
                    last = said
                if now >= next_still:
                    next_still = now + still
                    items.append("still_in_queue")
                if items and not self.ringing:
                    await self._say(items)
                    if offer:
                        await self._offer_callback()
                else:
                    self.resume_hold()
                wake = min(next_info, next_still)
                if wake == math.inf:
                    return
                await asyncio.sleep(max(0.05, wake - time.monotonic()))
        except CallerGone:
            return

    def callback_offered(self) -> bool:
        """B3/B6: does the queue offer callback to this caller now?"""
        callback, centre = self.settings.callback, self.channel.centre
        if callback is None or centre.plan is None:
            return False
        snapshot = centre.engine.queue_snapshot(self.queue_id, centre.now())
        return offered(callback, self.settings, centre.plan, snapshot, centre.clock.wall())

    def _choose_callback(self) -> None:
        centre = self.channel.centre
        centre.run(lambda now: centre.engine.caller_chose_callback(self.call_id, now))

    async def _offer_callback(self) -> None:
        """B1/B3: tell the caller they may be called back, when the queue offers it."""
        callback = self.settings.callback
        if callback is None or self.ringing or not self.callback_offered():
            return
        if callback.offer_announcement:
            await self._say_ref(callback.offer_announcement)
        else:
            await self._say(["callback_offer"])

    def _progress(self) -> list[str]:
        s = self.settings
        lang = self.session.language
        engine = self.channel.centre.engine
        items: list[str] = []
        if s.announce_position:
            position = engine.position_of(self.call_id)
            if position is not None:
                items += position_sequence(lang, position)
        if s.announce_ewt:
            ewt = engine.ewt_for(self.call_id, self.channel.centre.now())
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
            log.warning("queue prompt missing", error=str(err))
        finally:
            self.announcing = False
        self.resume_hold()

    async def _say_ref(self, reference: str) -> None:
        try:
            pcm = self.announcements.pcm(reference, self.session.language)
        except KeyError:
            log.warning("announcement missing: skipped", announcement=reference)
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
            session.play_ringback()
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
    def offer_dial(self, agent_id: str, ring: Ring) -> Dial:
        """What an offer sends: the caller's number as N4 says, the queue and
        the digits the caller entered (X-Jono-*), to the agent's devices."""
        session = self.session
        number = session.number
        shown = session.caller_number
        if number is not None:
            shown = number.displayed_caller_id(session.caller_number, session.dialled)
        plan = self.channel.centre.plan
        directory = self.channel.centre.directory
        assert plan is not None and directory is not None
        user = plan.users[agent_id]
        return Dial(
            targets=tuple(directory.targets(agent_id, ring.devices)),
            from_uri=f"sip:{shown}@{HOST}",
            to_uri=f"sip:{user.extension}@{HOST}",
            headers=(("X-Jono-Queue", self.queue_id), *variable_headers(session.variables)),
            role="agent",
            user=agent_id,
            managed=True,
            max_forwards=hops_left(session.call),
        )

    def bridge(self, offer: VoiceOffer) -> None:
        """The agent answered: the caller hears them at once (after the whisper)."""
        session = self.session
        self.bridged = True
        self._stop_tasks()
        party, offer.party = offer.party, None
        if party is None:
            return
        if not self.outcome.done():
            self.outcome.set_result(("bridged", None))
        call = session.call
        if call.ended:
            # The caller hung up as the agent answered: end the agent's leg too.
            _drop(party)
            return
        whisper = self.settings.whisper

        def agent_left(left_call: object, left: Party) -> None:
            if left is party:
                self.channel.left(self)  # the agent transferred the caller: wrap-up

        call.on_party_left.append(agent_left)
        call.connect(party, bridge=not whisper)
        call.queue = self.queue_id
        recordings = self.channel.recordings
        if self.settings.record and recordings is not None:
            recordings.start(call, by=f"queue:{self.queue_id}", queue=self.queue_id)
        if not whisper or party.media is None:
            return
        pcm = whisper_beep()
        if isinstance(whisper, str):
            with contextlib.suppress(KeyError):
                pcm = self.announcements.pcm(whisper, session.language)
        party.media.play([pcm], lambda completed: call.bridge_media(party), interruptible=False)

    def overflow(self, destination: str | None) -> None:
        self.in_queue = False
        self._stop_tasks()
        if not self.outcome.done():
            self.outcome.set_result(("overflow", destination))


class VoiceOffer:
    """One offer of a queued call to one agent; the dial listener of its attempt."""

    def __init__(self, channel: VoiceChannel, ring: Ring, caller: QueuedCaller) -> None:
        self.channel = channel
        self.ring = ring
        self.caller = caller
        self.id = ring.offer_id
        self.attempt: Attempt | None = None
        self.party: Party | None = None  # answered, waiting for the engine's Bridge
        self.cancelled = False

    def start(self) -> None:
        dial = self.caller.offer_dial(self.ring.agent_id, self.ring)
        if not dial.targets:
            # D7: no registration (or no route) for any device of the offer.
            self.channel.offer_failed(self, "unreachable")
            return
        if self.caller.session.gone.is_set():
            return
        log.info(
            "offer", call_id=self.caller.call_id, queue=self.ring.queue_id,
            agent=self.ring.agent_id, offer_id=self.id, devices=list(self.ring.devices),
            contacts=len(dial.targets),
        )
        self.attempt = self.channel.dialer.dial(dial, self)

    def cancel(self) -> None:
        """Stop ringing (or hang up an answer that came too late)."""
        if self.cancelled:
            return
        self.cancelled = True
        if self.attempt is not None:
            self.attempt.cancel()
        if self.party is not None:
            _drop(self.party)
            self.party = None
        self.caller.agent_ringing(self.id, False)

    # -- DialListener ------------------------------------------------------
    def ringing(self, attempt: Attempt, sdp: bytes | None) -> None:
        if not self.cancelled:
            self.caller.agent_ringing(self.id, True)

    def answered(self, attempt: Attempt, party: Party) -> bool:
        if self.cancelled:
            return False
        self.caller.agent_ringing(self.id, False)
        self.party = party
        device = party.device or self.ring.devices[0]
        log.info(
            "offer answered", call_id=self.caller.call_id, agent=self.ring.agent_id,
            offer_id=self.id, device=device,
        )
        self.channel.centre.offer_answered(self.id, device)
        if self.party is not None:
            # The engine did not connect it (a stale offer): nobody wants it.
            self.party = None
            return False
        return True

    def failed(self, attempt: Attempt, result: DialResult) -> None:
        self.caller.agent_ringing(self.id, False)
        if not self.cancelled:
            log.info(
                "offer failed", call_id=self.caller.call_id, agent=self.ring.agent_id,
                offer_id=self.id, outcome=result.outcome.value, status=result.status,
            )
            self.channel.offer_failed(self, acd_failure_reason(result.outcome))


def _drop(party: Party) -> None:
    party.leg.hangup()
    if party.media is not None:
        party.media.close()
