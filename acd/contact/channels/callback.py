"""The callback channel: requests called back in their turn (B1, B2, B5).

When a request's turn comes and an agent is free, the engine reserves the
agent and says ``Ring`` (channel ``callback``). An :class:`CallbackDial`
then, for ``order: agent_first`` (the default), rings the agent's devices
(the customer's number shown, ``X-Jono-Callback`` with the request's id
and the metadata text), tells the engine when the agent answers, plays the
agent announcement, and dials the customer through the trunk; for
``caller_first`` it dials the customer first, plays them a short hold, and
rings the agent when they answer.

The customer's answer connects them with the agent: one call, one record.
No answer from the customer is an attempt: the request goes back to its
place, eligible again after ``retry_after`` minutes, until the last
attempt (then it is closed as failed) or its validity runs out (expired).
Every change is written to the store before the next step, so a restart
finds every open request where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

import structlog

from acd.calls.call import Call
from acd.calls.dialer import Attempt as DialAttempt
from acd.calls.dialer import Dial, Dialer, DialResult
from acd.calls.media import play_ringback
from acd.calls.party import Party
from acd.calls.ports import RecordSink
from acd.calls.registry import CallRegistry
from acd.calls.status import Outcome, acd_failure_reason
from acd.clock import Clock
from acd.config import CallbackSettings, Dialplan
from acd.contact.centre import ContactCentre
from acd.domain import Bridge, CancelRing, Overflow, Ring
from acd.domain.callback_list import Attempt, CallbackRepository, CallbackRequest
from acd.flows.announcements import Announcements
from acd.flows.runner import HOST, variable_headers
from acd.telephony.trunks import TrunkRoutes
from media.engine import MediaEngine

log = structlog.stdlib.get_logger("jono.callback")

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class CallbackChannel:
    """The contact centre's :class:`~acd.contact.centre.Channel` for callbacks."""

    def __init__(
        self,
        centre: ContactCentre,
        *,
        dialer: Dialer,
        media: MediaEngine,
        registry: CallRegistry[Call],
        records: RecordSink,
        repository: CallbackRepository,
        clock: Clock,
        spawn: Spawn,
    ) -> None:
        self.centre = centre
        self.dialer = dialer
        self.media = media
        self.registry = registry
        self.records = records
        self.repository = repository
        self.clock = clock
        self.spawn = spawn
        self.plan: Dialplan | None = None
        self.announcements: Announcements | None = None
        self.trunks: TrunkRoutes | None = None
        self.requests: dict[str, CallbackRequest] = {}
        self.dials: dict[str, CallbackDial] = {}  # offer id -> its dial
        self.on_hold: dict[str, CallbackDial] = {}  # caller first: customers waiting for an agent
        self.on_change: Callable[[CallbackRequest], None] | None = None

    def configure(self, plan: Dialplan, announcements: Announcements, trunks: TrunkRoutes) -> None:
        self.plan, self.announcements, self.trunks = plan, announcements, trunks

    def settings(self, queue: str) -> CallbackSettings | None:
        conf = self.plan.queues.get(queue) if self.plan is not None else None
        return conf.callback if conf is not None else None

    # -- requests --------------------------------------------------------------------
    def new_request(
        self, *, queue: str, number: str, caller: str, joined_at: float,
        caller_name: str | None = None, variables: dict[str, str] | None = None,
        window: str | None = None, eligible_at: float | None = None,
    ) -> CallbackRequest:
        settings = self.settings(queue)
        assert settings is not None
        now = self.clock.now()
        return CallbackRequest(
            id=f"cb-{uuid.uuid4().hex[:12]}", queue=queue, number=number, caller=caller,
            joined_at=joined_at, requested_at=now, expires_at=now + settings.validity * 60,
            caller_name=caller_name, variables=dict(variables or {}), window=window,
            eligible_at=eligible_at,
        )

    async def add(self, request: CallbackRequest) -> None:
        """Keep the request (durably, first) and put it in line."""
        await self.save(request)
        self._enter(request)
        log.info("callback requested", request=request.id, queue=request.queue,
                 number=request.number, window=request.window)

    def restore(self) -> int:
        """At start: every open request back in line, at its place (after a
        crash, a request that was being called is simply called again)."""
        count = 0
        for request in self.repository.open_requests():
            if request.queue not in (self.plan.queues if self.plan else {}):
                continue
            if request.status == "calling":
                request.status = "requeued"
            # A claim on the list does not outlive the process (nor the note owed):
            # the request is free again, in its place.
            request.claimed_by = request.claimed_until = None
            self._enter(request)
            count += 1
        return count

    def _enter(self, request: CallbackRequest) -> None:
        self.requests[request.id] = request
        engine = self.centre.engine
        ok = self.centre.join_work(request.id, self, lambda now: engine.callback_requested(
            request.id, request.queue, request.joined_at, now,
            eligible_at=request.eligible_at, expires_at=request.expires_at,
        ))
        if not ok:
            self.requests.pop(request.id, None)

    async def save(self, request: CallbackRequest) -> None:
        await asyncio.to_thread(self.repository.save, replace(request, attempts=list(request.attempts)))
        if self.on_change is not None:
            self.on_change(request)

    def save_later(self, request: CallbackRequest) -> None:
        self.spawn(self.save(request))

    # -- Channel -------------------------------------------------------------------------
    def ring(self, ring: Ring) -> None:
        request = self.requests.get(ring.call_id)
        settings = self.settings(ring.queue_id)
        if request is None or settings is None:
            self.centre.offer_failed(ring.offer_id, "unreachable")
            return
        waiting = self.on_hold.get(request.id)
        if waiting is not None:  # caller first: the customer is on the line already
            self.dials[ring.offer_id] = waiting
            waiting.ring_next_agent(ring)
            return
        dial = CallbackDial(self, ring, request, settings)
        self.dials[ring.offer_id] = dial
        dial.start()

    def cancel_ring(self, cancel: CancelRing) -> None:
        dial = self.dials.pop(cancel.offer_id, None)
        if dial is not None:
            dial.cancel(cancel.reason)

    def bridge(self, bridge: Bridge) -> None:
        dial = self.dials.pop(bridge.offer_id, None)
        if dial is not None:
            dial.agent_connected()

    def overflow(self, overflow: Overflow) -> None:
        """The engine closed a waiting request (its validity ran out)."""
        request = self.requests.pop(overflow.call_id, None)
        if request is not None and request.open:
            request.status = "expired" if overflow.reason == "callback_expired" else "cancelled"
            request.closed_at = self.clock.now()
            request.note = f"closed: {overflow.reason}"
            self.save_later(request)
            log.info("callback closed", request=request.id, why=overflow.reason)

    # -- the outcome of an attempt ----------------------------------------------------------
    def attempted(self, dial: CallbackDial, outcome: Outcome, status: int) -> None:
        """The customer did not answer (or could not be reached): retry or give up."""
        request, settings = dial.request, dial.settings
        now = self.clock.now()
        request.attempts.append(Attempt(at=now, agent=dial.ring.agent_id, outcome=outcome.value))
        request.handler = dial.ring.agent_id
        engine = self.centre.engine
        if len(request.attempts) >= settings.attempts:
            request.status, request.closed_at = "failed", now
            request.note = f"no answer after {len(request.attempts)} attempts"
            self.requests.pop(request.id, None)
            self.centre.run(lambda t: engine.callback_closed(request.id, "failed", t))
            self.centre.work_over(request.id)
        else:
            eligible = now + settings.retry_after * 60
            request.status, request.eligible_at = "requeued", eligible
            request.note = f"attempt {len(request.attempts)}: {outcome.value}; again later"
            self.centre.run(lambda t: engine.callback_retry(request.id, eligible, t, outcome.value))
        log.info("callback attempt", request=request.id, outcome=outcome.value, status=status,
                 attempts=len(request.attempts), next=request.status)
        self.save_later(request)

    def completed(self, dial: CallbackDial, call: Call) -> None:
        request = dial.request
        now = self.clock.now()
        request.attempts.append(Attempt(at=now, agent=dial.ring.agent_id, outcome="answered"))
        request.status, request.closed_at, request.handler = "done", now, dial.ring.agent_id
        request.note = request.note or "called back"
        self.requests.pop(request.id, None)
        engine = self.centre.engine
        self.centre.run(lambda t: engine.callback_closed(request.id, "completed", t))
        self.centre.work_over(request.id)
        log.info("callback completed", request=request.id, call_id=call.id)
        self.save_later(request)


class CallbackDial:
    """One attempt at a request: the agent (reserved by the engine) and the customer."""

    def __init__(
        self, channel: CallbackChannel, ring: Ring, request: CallbackRequest,
        settings: CallbackSettings,
    ) -> None:
        self.channel = channel
        self.ring = ring
        self.request = request
        self.settings = settings
        self.call: Call | None = None
        self.attempt: DialAttempt | None = None
        self.agent_party: Party | None = None
        self.finished = False

    @property
    def agent_first(self) -> bool:
        return self.settings.order == "agent_first"

    def start(self) -> None:
        self.request.status = "calling"
        self.request.handler = self.ring.agent_id
        self.channel.save_later(self.request)
        if self.agent_first:
            self.attempt = self.channel.dialer.dial(self._agent_dial(role="caller"), _Agent(self))
        else:
            self.attempt = self.channel.dialer.dial(self._customer_dial(role="caller"),
                                                    _Customer(self))

    def cancel(self, reason: str) -> None:
        """The engine withdrew the offer (a retry, a logout, a stale answer)."""
        if self.attempt is not None:
            self.attempt.cancel()
        if self.call is not None and self.call.peer is None:
            self.call.end("jono", f"callback {reason}")
        elif self.agent_party is not None and self.call is None:
            _drop(self.agent_party)

    # -- dials --------------------------------------------------------------------------
    def _agent_dial(self, *, role: str) -> Dial:
        channel = self.channel
        plan, directory = channel.plan, channel.centre.directory
        assert plan is not None and directory is not None
        user = plan.users[self.ring.agent_id]
        headers = (
            ("X-Jono-Queue", self.ring.queue_id), ("X-Jono-Callback", self.request.id),
            ("X-Jono-Info", self.settings.metadata_text),
            *variable_headers(self.request.variables),
        )
        return Dial(
            targets=tuple(directory.targets(self.ring.agent_id, self.ring.devices)),
            from_uri=f"sip:{self.request.number}@{HOST}", from_display=self.settings.metadata_text,
            to_uri=f"sip:{user.extension}@{HOST}", headers=headers,
            ring_timeout=self.ring.ring_time, role=role, user=self.ring.agent_id, managed=True,
        )

    def _customer_dial(self, *, role: str) -> Dial:
        """A user's extension rings their devices; any other number goes out."""
        trunks, plan = self.channel.trunks, self.channel.plan
        directory = self.channel.centre.directory
        assert trunks is not None and plan is not None and directory is not None
        user = directory.user_for(self.request.number)
        if user is not None:
            return Dial(
                targets=tuple(directory.targets(user)), from_uri=f"sip:{self.ring.queue_id}@{HOST}",
                from_display=f"{self.settings.metadata_text}", to_uri=f"sip:{self.request.number}@{HOST}",
                ring_timeout=float(self.settings.ring_time), role=role, user=user,
            )
        route = trunks.outbound(self.request.number, plan.outbound.trunk)
        if route is None:
            raise RuntimeError("no trunk to call the customer back through")
        return Dial(
            targets=(route.dial_target(),), from_uri=route.from_uri(self.ring.queue_id),
            to_uri=route.uri, credentials=route.credentials,
            ring_timeout=float(self.settings.ring_time), role=role,
        )

    def _new_call(self, first: Party) -> Call:
        channel = self.channel
        call = Call(
            first, media=channel.media, registry=channel.registry, records=channel.records,
            source=f"callback:{self.ring.queue_id}", caller_number=self.ring.queue_id,
            callee=self.request.number, external="outbound", call_id=f"{self.request.id}-"
            f"{len(self.request.attempts) + 1}",
        )
        call.variables.update(self.request.variables)
        call.variables["callback"] = self.request.id
        call.answered_by_first_party()
        call.on_end.append(self._ended)
        self.call = call
        return call

    # -- agent first ----------------------------------------------------------------------
    def agent_answered(self, party: Party) -> bool:
        self.agent_party = party
        self.channel.centre.offer_answered(self.ring.offer_id, party.device or self.ring.devices[0])
        return True  # the engine's Bridge (or CancelRing) decides what happens next

    def agent_connected(self) -> None:
        """The engine's Bridge: the agent is ours; say what this is, call the customer."""
        party = self.agent_party
        if party is None:
            return
        if self.agent_first:
            call = self._new_call(party)
            pcm = self._agent_announcement()
            if party.media is not None and pcm is not None:
                party.media.play([pcm], lambda completed: self._dial_customer(call),
                                 interruptible=False)
            else:
                self._dial_customer(call)
        elif self.call is not None and not self.call.ended:
            self.channel.on_hold.pop(self.request.id, None)
            self.call.connect(party)

    def _agent_announcement(self) -> Any:
        announcements = self.channel.announcements
        name = self.settings.agent_announcement
        if announcements is None or name is None:
            return None
        language = self.channel.plan.server.language if self.channel.plan else "en"
        with contextlib.suppress(KeyError):
            return announcements.pcm(name, language)
        return None

    def _dial_customer(self, call: Call) -> None:
        if call.ended:
            return
        party = call.caller
        if party.media is not None:
            play_ringback(party.media)
        self.attempt = self.channel.dialer.dial(self._customer_dial(role="callee"), _Customer(self))

    def agent_failed(self, result: DialResult) -> None:
        """The agent's phone did not answer: the engine offers the request to another."""
        self.channel.dials.pop(self.ring.offer_id, None)
        self.channel.centre.offer_failed(self.ring.offer_id, acd_failure_reason(result.outcome))
        if not self.agent_first and self.call is not None:
            self.request.note = f"agent {self.ring.agent_id} did not answer"

    # -- the customer ------------------------------------------------------------------------
    def customer_answered(self, party: Party) -> bool:
        if self.agent_first:
            call = self.call
            if call is None or call.ended:
                return False
            call.connect(party)
            return True
        self._new_call(party)
        if party.media is not None:
            with contextlib.suppress(KeyError):
                party.media.start_moh("default")
        self.channel.on_hold[self.request.id] = self
        self.attempt = self.channel.dialer.dial(self._agent_dial(role="agent"), _Agent(self))
        return True

    def ring_next_agent(self, ring: Ring) -> None:
        """Caller first: the customer waits on the line while another agent rings."""
        self.ring = ring
        self.attempt = self.channel.dialer.dial(self._agent_dial(role="agent"), _Agent(self))

    def customer_failed(self, result: DialResult) -> None:
        if self.finished:
            return
        self.finished = True
        self.channel.dials.pop(self.ring.offer_id, None)
        if self.call is not None:
            self.call.on_end.clear()
            self.call.end("jono", f"customer {result.outcome.value}")
        self.channel.attempted(self, result.outcome, result.status)

    def _ended(self, call: Call) -> None:
        """The call is over: with a conversation, the request is done."""
        self.channel.on_hold.pop(self.request.id, None)
        if self.finished:
            return
        self.finished = True
        if self.attempt is not None and not self.attempt.finished:
            self.attempt.cancel()  # caller first: the customer left while an agent rang
        if call.peer is not None and call.connected_at is not None:
            self.channel.completed(self, call)
        else:
            self.channel.attempted(self, Outcome.NO_ANSWER, 487)


class _Agent:
    def __init__(self, dial: CallbackDial) -> None:
        self.dial = dial

    def ringing(self, attempt: DialAttempt, sdp: bytes | None) -> None:
        pass

    def answered(self, attempt: DialAttempt, party: Party) -> bool:
        return self.dial.agent_answered(party)

    def failed(self, attempt: DialAttempt, result: DialResult) -> None:
        if result.outcome is not Outcome.CANCELLED:
            self.dial.agent_failed(result)


class _Customer:
    def __init__(self, dial: CallbackDial) -> None:
        self.dial = dial

    def ringing(self, attempt: DialAttempt, sdp: bytes | None) -> None:
        pass

    def answered(self, attempt: DialAttempt, party: Party) -> bool:
        return self.dial.customer_answered(party)

    def failed(self, attempt: DialAttempt, result: DialResult) -> None:
        if result.outcome is not Outcome.CANCELLED:
            self.dial.customer_failed(result)


def _drop(party: Party) -> None:
    party.leg.hangup()
    if party.media is not None:
        party.media.close()
