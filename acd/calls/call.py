"""A call: its parties (SIP legs with their media), one state, one end, one record.

Theory of operation
-------------------
Every call Jono handles is one :class:`Call`, however it started: a phone
or trunk calling in (the first party is the caller's incoming leg), or an
originate (the first party is the agent Jono rang first). The call owns its
parties' SIP legs and media legs: it listens to every leg, and whatever
ends one party's leg ends the call (BYE, CANCEL, no ACK for our 2xx, a
transport error, no RTP for the dead time), exactly once, with the true
reason. Ending hangs up every other party, closes every media leg, leaves
the registry and writes the call's one record.

States (transitions as data, anything else raises)::

    setup     --answer-----> answered   Jono answered the caller (menu, queue)
    setup     --connect----> connected  a dialled party answered; caller answered with it
    answered  --connect----> connected
    connected --connect----> connected  a third party joins (a consultation)
    connected --disconnect-> answered   the other party left; the caller stays
    *         --end--------> ended

Parties come and go while the call lasts (O7): a transferor leaves
(:meth:`Call.remove`), the target of an attended transfer moves in from its
own call (:meth:`Call.release` there, :meth:`Call.connect` here). The first
party is the one the flows serve (prompts, digits, queues): when it leaves,
the next one takes its place. A party that holds (its phone's re-INVITE
with sendonly/inactive, or the desktop) leaves the one it talked with on
music on hold until it resumes; the seconds on hold go on the record.

Media is *anchored* when the caller has a Jono media leg (the engine relays
between the parties' legs, transcoding when their codecs differ) and
*passed through* otherwise (the callee's answer goes to the caller as is,
re-INVITEs are relayed).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial

import structlog

from acd.calls.media import SdpProblem, answer_locally, background, relay_reinvite
from acd.calls.party import Party
from acd.calls.ports import IncomingLeg, RecordSink
from acd.calls.registry import CallRegistry
from acd.calls.status import outcome_of
from acd.logs import info_enabled
from media.api import MediaEngineApi, MediaLegApi
from media.dtmf import parse_dtmf_relay
from media.leg import MediaLeg
from media.rtpengine.ng import NgError
from media.sdp import holds
from media.webrtc.sdp import is_webrtc
from sip.leg_events import Acked, Cancelled, Ended, Info, LegEvent, Refer, ReInvite

log = structlog.stdlib.get_logger("jono.calls")


class CallState(StrEnum):
    SETUP = "setup"
    ANSWERED = "answered"
    CONNECTED = "connected"
    ENDED = "ended"


S = CallState
TRANSITIONS: dict[tuple[CallState, str], CallState] = {
    (S.SETUP, "answer"): S.ANSWERED,
    (S.SETUP, "connect"): S.CONNECTED,
    (S.ANSWERED, "connect"): S.CONNECTED,
    (S.CONNECTED, "connect"): S.CONNECTED,
    (S.CONNECTED, "disconnect"): S.ANSWERED,
    (S.SETUP, "end"): S.ENDED,
    (S.ANSWERED, "end"): S.ENDED,
    (S.CONNECTED, "end"): S.ENDED,
}


class IllegalCallTransition(Exception):
    pass


def _ignore(event: LegEvent) -> None:
    pass


ReferHandler = Callable[["Call", Party, Refer], None]
"""Decides what a party's REFER does (acd.flows.transfer); it must accept or
decline the REFER on the party's leg."""
DEFAULT_MOH = "default"


class Call:
    def __init__(
        self,
        caller: Party,
        *,
        incoming: IncomingLeg | None = None,
        media: MediaEngineApi,
        registry: CallRegistry[Call] | None = None,
        records: RecordSink | None = None,
        source: str,
        caller_number: str,
        callee: str,
        caller_name: str | None = None,
        call_id: str | None = None,
        external: str | None = None,
        engages: bool = True,
    ) -> None:
        self.id = call_id or caller.leg.call_id
        self.parties: list[Party] = [caller]
        # The caller's leg when the call came in (None for an originate).
        self.incoming = incoming
        self.engine = media
        self.registry = registry
        self.records = records
        self.source = source  # "user:alice", "trunk:provider", "originate:alice"
        # The record's caller and callee: a user's name or an E.164 number (S2).
        self.caller_number = caller_number
        self.callee = callee
        self.caller_name = caller_name  # the caller's display name, apart
        # D11: "inbound" (from a trunk), "outbound" (to a number), else internal.
        self.external = external
        # Whether users on this call are busy for the ACD (not for feature codes).
        self.engages = engages
        # O6: a direct call between two agents (no transfer; only the caller holds).
        self.agent_to_agent = False
        self.state = S.SETUP
        self.started_at = datetime.now(UTC)
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.status: int | None = None
        self.disposition: str | None = None
        self.ended_by: str | None = None
        self.end_reason: str | None = None
        self.connected_at: datetime | None = None  # a person answered (not Jono)
        self.last_dial: str | None = None  # the outcome of the last unanswered dial
        self.note: str | None = None  # what the plan did last: message, overflow, ...
        self.variables: dict[str, str] = {}
        self.caller_answer: bytes | None = None  # Jono's SDP answer to the caller
        self.late_offer = False  # the caller's INVITE had no offer: ours was in the 2xx
        self._negotiated: asyncio.Future[None] | None = None
        self.on_digit: Callable[[str], None] | None = None
        self.on_end: list[Callable[[Call], None]] = []
        self.on_refer: ReferHandler | None = None
        # Set while a flow waits for the conversation to end (FlowSession.talk):
        # a blind transfer hands the call over to a destination ("queue:billing").
        self.on_handover: Callable[[str], None] | None = None
        self.on_party_left: list[Callable[[Call, Party], None]] = []
        self.moh_class = DEFAULT_MOH  # what a held party hears: the queue's class, else the plan's
        self.queue: str | None = None  # the queue whose agent took the call (recordings' access)
        self.hold_seconds = 0.0
        # Who holds, since when (monotonic), and whom it left on music on hold.
        self._held: dict[Party, tuple[float, Party | None]] = {}
        self._ended: asyncio.Future[None] | None = None
        caller.leg.listener = partial(self._on_event, caller)
        if caller.media is not None:  # an originate: Jono rang this party itself
            self._own_media(caller, caller.media)
        if registry is not None:
            registry.add(self)

    def __repr__(self) -> str:
        return f"<Call {self.id} {self.state.value} {self.parties}>"

    # -- state -------------------------------------------------------------
    @property
    def caller(self) -> Party:
        return self.parties[0]

    @property
    def peer(self) -> Party | None:
        """The party talking with the caller, if any."""
        return self.parties[1] if len(self.parties) > 1 else None

    @property
    def ended(self) -> bool:
        return self.state is S.ENDED

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def kind(self) -> str:
        return self.external or "internal"

    def _move(self, event: str) -> None:
        try:
            self.state = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise IllegalCallTransition(
                f"call {self.id} in state {self.state.value} cannot {event}"
            ) from None

    async def wait_end(self) -> None:
        """Until the call has ended."""
        if self.ended:
            return
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._ended)

    # -- the caller's media --------------------------------------------------
    async def open_caller_media(self) -> bool:
        """Anchor the caller's media in Jono (menus, queues, bridged calls).

        False when the call is over: the caller's offer had nothing in
        common with us (488 sent, RFC 3264 §6) or the caller gave up while
        the leg opened.
        """
        caller = self.caller
        if caller.media is not None:
            return True
        offer = self.incoming.sdp if self.incoming is not None else None
        # A browser's offer (UDP/TLS/RTP/SAVPF) gets a WebRTC leg, others plain RTP.
        webrtc = offer is not None and is_webrtc(offer)
        media = await (self.engine.open_webrtc_leg() if webrtc else self.engine.open_leg())
        if self.ended:
            media.close()
            return False
        try:
            if offer is None and self.incoming is not None:
                # Late offer (RFC 3261 §13.2.1): our offer goes in the 2xx and
                # the caller's answer comes back in the ACK.
                self.caller_answer = await media.create_offer()
                self.late_offer = True
            else:
                self.caller_answer = await media.answer_offer(offer or b"")
        except SdpProblem as err:
            media.close()
            log.info("no common codec with caller", call_id=self.id, error=str(err))
            self.reject(488, disposition="failed")
            return False
        except NgError as err:
            media.close()
            log.warning("media plane refused the caller", call_id=self.id, error=str(err))
            self.reject(503, disposition="failed")
            return False
        if self.ended:  # the caller gave up during the media plane's round trip
            media.close()
            return False
        self._own_media(caller, media)
        return True

    def _own_media(self, party: Party, media: MediaLegApi) -> None:
        party.media = media
        media.on_dead = partial(self._media_dead, party)
        if party is self.caller:
            media.on_dtmf = self._digit

    def _digit(self, digit: str) -> None:
        if self.on_digit is not None:
            self.on_digit(digit)

    # -- actions -------------------------------------------------------------
    def ring(self, sdp: bytes | None = None) -> None:
        """Tell the caller the far end is alerting (180, or 183 with early media)."""
        leg = self.incoming
        if leg is not None and not leg.finalised:
            leg.ring(sdp)

    def answered_by_first_party(self) -> None:
        """An originate: the first party, rung by Jono, answered. The call
        counts as answered (``answered_at``) when the destination answers."""
        if self.state is S.SETUP:
            self._move("answer")

    def answer(self) -> None:
        """Jono answers the caller (menus, queues, echo); needs its media leg."""
        if self.ended or self.answered:
            return
        if self.incoming is not None:
            self.incoming.answer(self.caller_answer)
        self.answered_at = datetime.now(UTC)
        if self.state is S.SETUP:
            self._move("answer")
        log.info("call answered by jono", call_id=self.id)

    def connect(self, party: Party, *, bridge: bool = True) -> None:
        """A dialled party answered: it joins the call and talks with the caller.

        The caller is answered now if Jono had not answered it yet: with our
        SDP when media is anchored, with the party's own answer otherwise.
        ``bridge=False`` holds the media apart (a whisper to the agent first);
        :meth:`bridge_media` joins them.
        """
        if self.ended:
            raise IllegalCallTransition(f"call {self.id} has ended")
        party.leg.listener = partial(self._on_event, party)
        self.parties.append(party)
        if party.media is not None:
            self._own_media(party, party.media)
        if self.registry is not None:
            self.registry.joined(self, party)
        caller = self.caller
        if bridge and caller.media is not None and party.media is not None:
            self.engine.bridge(caller.media, party.media)  # stops what played to either
        if not self.answered:
            if self.incoming is not None:
                sdp = self.caller_answer if caller.media is not None else party.answer_sdp
                self.incoming.answer(sdp)
            self.answered_at = datetime.now(UTC)
        self.connected_at = self.connected_at or datetime.now(UTC)
        self._move("connect")
        if info_enabled():
            log.info(
                "call connected", call_id=self.id, party=party.role, user=party.user,
                device=party.device,
                media="anchored" if party.media is not None else "passthrough",
            )

    def bridge_media(self, party: Party) -> None:
        caller = self.caller
        if self.ended or caller.media is None or party.media is None:
            return
        caller.media.stop_playback()
        self.engine.bridge(caller.media, party.media)

    # -- parties coming and going (O7) ---------------------------------------------
    def remove(self, party: Party, *, hang_up: bool = True) -> None:
        """``party`` leaves; the call goes on with the others (a transferor
        leaves, a consultation ends). ``hang_up=False`` keeps its SIP and
        media legs for another call (:meth:`release`)."""
        if party not in self.parties or self.ended:
            return
        first = self.parties[0]
        self._end_hold(party)
        for holder, (since, parked) in list(self._held.items()):
            if parked is party:
                self._held[holder] = (since, None)
        self.parties.remove(party)
        party.leg.listener = _ignore
        if party.media is not None:
            self.engine.unbridge(party.media)
            party.media.on_dead = None
            party.media.on_dtmf = None
        if hang_up:
            party.leg.hangup()
            if party.media is not None:
                party.media.close()
        if party.leg is self.incoming:
            self.incoming = None
        if self.registry is not None:
            self.registry.left(self, party)
        if self.state is S.CONNECTED and len(self.parties) < 2:
            self._move("disconnect")
        if self.parties and self.parties[0] is not first:
            caller = self.parties[0]
            if caller.media is not None:
                self._own_media(caller, caller.media)
        log.info("party left", call_id=self.id, party=party.role, user=party.user,
                 kept=not hang_up)
        for hook in list(self.on_party_left):
            try:
                hook(self, party)
            except Exception:
                log.exception("party-left hook failed", call_id=self.id)

    def release(self, party: Party) -> Party:
        """Take ``party`` out to join another call (the target of an attended
        transfer); its legs stay up. The call goes on (or the flow ends it)."""
        self.remove(party, hang_up=False)
        return party

    def partner(self, party: Party) -> Party | None:
        """Whom ``party`` talks with: its bridged peer, the one it holds (or
        that holds it), or the only other party."""
        held = self._held.get(party)
        if held is not None:
            return held[1]
        for holder, (_, parked) in self._held.items():
            if parked is party:
                return holder
        peer = party.media.peer if party.media is not None else None
        others = [p for p in self.parties if p is not party]
        if peer is not None:
            found = next((p for p in others if p.media is peer), None)
            if found is not None:
                return found
        return others[0] if len(others) == 1 else None

    # -- hold (O7) -------------------------------------------------------------
    def holding(self, party: Party) -> bool:
        return party in self._held

    def hold(self, party: Party) -> bool:
        """``party`` holds: whoever talked with it hears music on hold (the
        call's ``moh_class``) until :meth:`resume`. Music needs anchored media;
        passed-through calls are held by the phones alone. False when the
        party already held or is not on the call."""
        if self.ended or party in self._held or party not in self.parties:
            return False
        other = self.partner(party)
        self._held[party] = (time.monotonic(), other)
        if other is not None and other.media is not None and other.media.codec is not None:
            self.engine.unbridge(other.media)
            self._play_moh(other.media)
        log.info("call held", call_id=self.id, by=party.role, user=party.user)
        return True

    def resume(self, party: Party) -> bool:
        """``party`` takes the call back: the one it held hears it again."""
        other = self._held.get(party, (0.0, None))[1]
        if not self._end_hold(party):
            return False
        if (
            other is not None and other in self.parties and party.media is not None
            and other.media is not None and other not in self._held
        ):
            self.engine.bridge(party.media, other.media)  # stops the music
        log.info("call resumed", call_id=self.id, by=party.role, user=party.user)
        return True

    def _end_hold(self, party: Party) -> bool:
        entry = self._held.pop(party, None)
        if entry is None:
            return False
        self.hold_seconds += time.monotonic() - entry[0]
        return True

    def play_moh(self, party: Party) -> None:
        """Music on hold to ``party`` (apart from everyone)."""
        if party.media is not None and party.media.codec is not None:
            self.engine.unbridge(party.media)
            self._play_moh(party.media)

    def _play_moh(self, media: MediaLegApi) -> None:
        try:
            media.start_moh(self.moh_class)
        except KeyError:
            log.warning("music-on-hold class missing: default", moh=self.moh_class)
            media.start_moh(DEFAULT_MOH)

    def reject(
        self, status: int, reason: str | None = None, *, disposition: str | None = None
    ) -> None:
        """Refuse a caller not answered yet with a final status, and end."""
        leg = self.incoming
        if leg is not None and not leg.finalised:
            leg.reject(status, reason)
        self.status = status
        self.disposition = disposition
        self.end("jono", reason or "rejected")

    def end(self, by: str | None, reason: str, status: int | None = None) -> None:
        """End the call once: every party hung up, media closed, the record written."""
        if self.ended:
            return
        self._move("end")
        for holder in list(self._held):
            self._end_hold(holder)
        self.ended_at = datetime.now(UTC)
        self.ended_by = by
        self.end_reason = reason
        if status is not None and self.status is None:
            self.status = status
        for party in self.parties:
            leg = party.leg
            leg.listener = _ignore
            if leg is self.incoming and not self.incoming.finalised:
                self.incoming.reject(self.status or 480)
            else:
                leg.hangup()
            if party.media is not None:
                self.engine.unbridge(party.media)
                party.media.close()
        if self.registry is not None:
            self.registry.remove(self)
        if info_enabled():
            status, disposition = self.disposition_now()
            log.info(
                "call ended", call_id=self.id, by=by, reason=reason, status=status,
                disposition=disposition, caller=self.caller_number, callee=self.callee,
                note=self.note,
                seconds=round((self.ended_at - self.started_at).total_seconds(), 3),
            )
        for hook in self.on_end:
            try:
                hook(self)
            except Exception:
                log.exception("call end hook failed", call_id=self.id)
        self.on_end.clear()
        self.on_party_left.clear()
        self.on_digit = None
        self.on_refer = None
        self.on_handover = None
        if self.records is not None:
            try:
                self.records.add_cdr(**self.record())
            except Exception:
                log.exception("call record failed", call_id=self.id)
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    def record(self) -> dict[str, object]:
        """The one call record (S2): the columns of ``acd.store.tables.CallRecord``."""
        status, disposition = self.disposition_now()
        media = {
            party.role if i < 2 else f"{party.role}{i}": asdict(party.media.stats)
            for i, party in enumerate(self.parties)
            if party.media is not None
        }
        return {
            "call_id": self.id,
            "caller": self.caller_number,
            "caller_name": self.caller_name,
            "callee": self.callee,
            "source": self.source,
            "started_at": self.started_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at or datetime.now(UTC),
            "status": status,
            "disposition": disposition,
            "ended_by": self.ended_by,
            "end_reason": self.end_reason,
            "detail": json.dumps(self.variables) if self.variables else None,
            "media": json.dumps(media) if media else None,
            "hold_seconds": round(self.hold_seconds, 3) if self.hold_seconds else None,
            "agent": self.taken_by(),
        }

    def taken_by(self) -> str | None:
        """The user who took the call: a queue's agent, else a dialled user who answered."""
        for role in ("agent", "callee"):
            for party in self.parties[1:]:
                if party.role == role and party.user is not None:
                    return party.user
        return None

    def disposition_now(self) -> tuple[int, str]:
        """The call record's final status and what really happened (S2):

        ``answered`` a person answered (an agent, a user, a number out);
        ``abandoned`` the caller left before anyone answered (in a menu, in
        a queue, while it rang); ``busy``/``no_answer``/``rejected``/
        ``unreachable`` the last dial failed so and the call ended; ``message``
        the plan ended it after an announcement; ``overflowed`` a queue sent
        the caller away with nowhere to go; ``echo``; or what refused it
        (``not_in_service``, ``refused``, ``failed``)."""
        status = 200 if self.answered else (487 if self.end_reason == "cancel" else self.status or 480)
        if self.disposition is not None:
            return status, self.disposition
        if self.connected_at is not None:
            return status, "answered"
        if self.end_reason == "cancel" or (self.answered and self.ended_by == "caller"):
            return status, "abandoned"
        if self.note is not None:
            return status, self.note
        if self.last_dial is not None:
            return status, self.last_dial
        return status, outcome_of(status).value if not self.answered else "ended"

    # -- what the legs say -------------------------------------------------------
    def _on_event(self, party: Party, event: LegEvent) -> None:
        if isinstance(event, Acked):
            if event.sdp is not None:
                self._late_answer(party, event.sdp)
        elif isinstance(event, Cancelled):
            self.end(party.role, "cancel", 487)
        elif isinstance(event, Ended):
            if len(self.parties) > 2 and party is not self.caller:
                # A consultation (three on the call): the one who hung up leaves
                # and the others stay (O7); its hooks decide what happens next.
                self.remove(party)
            else:
                self.end(party.role, event.reason)
        elif isinstance(event, ReInvite):
            self._reinvite(party, event)
        elif isinstance(event, Refer):
            if self.on_refer is None:
                party.leg.decline_refer(event, 403, "Transfer Not Available")
            else:
                self.on_refer(self, party, event)
        elif isinstance(event, Info):
            other = self.partner(party)
            if other is not None:
                other.leg.send_info(event.body, event.content_type)
            elif party.media is not None and "dtmf" in event.content_type:
                digit = parse_dtmf_relay(event.body)
                if digit:
                    party.media.inject_dtmf(digit)

    def _reinvite(self, party: Party, event: ReInvite) -> None:
        """Answer a re-INVITE; with anchored media a hold offer (RFC 3264
        §8.4) holds the call and the next plain offer resumes it."""
        if party.media is not None:
            if (
                self.agent_to_agent and party is not self.caller and event.sdp is not None
                and holds(event.sdp) and not self.holding(party)
            ):
                # O6: on a call between agents only the one who called holds;
                # the session stays as it was (RFC 3261 §14.2).
                party.leg.answer_reinvite(event, 403)
                return
            answer_locally(party.leg, party.media, event)
            if event.sdp is not None and party.media.codec is not None:
                if holds(event.sdp):
                    self.hold(party)
                else:
                    self.resume(party)
            return
        other = self.partner(party)
        if other is not None:
            relay_reinvite(party.leg, other.leg, event)
        else:
            party.leg.answer_reinvite(event, 488)

    def media_negotiated(self) -> asyncio.Future[None]:
        """Done when the caller's media can be played to: at once, or for a late
        offer when the caller's answer has come in the ACK."""
        if self._negotiated is None:
            self._negotiated = asyncio.get_running_loop().create_future()
            media = self.caller.media
            if not self.late_offer or (media is not None and media.codec is not None):
                self._negotiated.set_result(None)
        return self._negotiated

    def _late_answer(self, party: Party, sdp: bytes) -> None:
        """The caller's answer to the offer in our 2xx (RFC 3261 §13.2.1)."""
        media = party.media
        if isinstance(media, MediaLeg):  # the built-in leg takes it at once
            try:
                media.apply_answer(sdp)
            except SdpProblem as err:
                log.info("late answer unusable", call_id=self.id, error=str(err))
                self.end("jono", "no common codec")
                return
            self._late_answer_taken()
            return
        if media is not None:  # rtpengine's leg: an ng round trip
            background(self._late_answer_later(media, sdp))
            return
        other = self.partner(party)
        if other is not None and other.ack is not None:
            other.ack(sdp)  # passed through: the callee's offer, the caller's answer
            other.ack = None

    async def _late_answer_later(self, media: MediaLegApi, sdp: bytes) -> None:
        try:
            await media.accept_answer(sdp)
        except (*SdpProblem, NgError) as err:
            log.info("late answer unusable", call_id=self.id, error=str(err))
            self.end("jono", "no common codec")
            return
        self._late_answer_taken()

    def _late_answer_taken(self) -> None:
        if self._negotiated is not None and not self._negotiated.done():
            self._negotiated.set_result(None)

    def _media_dead(self, party: Party, leg: MediaLegApi) -> None:
        log.info("no RTP: hanging up", call_id=self.id, party=party.role)
        self.end("jono", "media timeout")
