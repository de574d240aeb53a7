"""Callback requests in the engine (B1-B6): they keep the caller's place.

Theory of operation
-------------------
A caller who asks to be called back leaves the line, but their request
stays in the queue's waiting list at the caller's original place: its key
is made from the time the caller first entered, so it is served after the
callers who were ahead and before those who came later, exactly as if the
caller had stayed on the line. Position and EWT announcements to callers
still waiting count it.

A request waits for an agent like a caller, with three differences:

* it is offered to one agent at a time (``ring_limit`` 1): never two dials
  for one request, never more callback dials than free agents (each offer
  reserves its agent in the same atomic step as a call's offer does);
* it may not be eligible yet (``eligible_at``: the start of the window the
  caller chose, or a retry delay after an unanswered attempt);
* it does not overflow when no agents are logged in; it expires instead
  (``expires_at``, the validity period of B2).

The channel (``acd.contact.channels.callback``) dials the agent and the
customer and reports back: ``callback_retry`` (the customer did not answer:
back to its place, eligible again later, the agent freed without counting
it against them) or ``callback_closed`` (done, given up, expired, closed by
a supervisor).
"""

from __future__ import annotations

from acd.domain.agent_state import AgentState, next_state
from acd.domain.core import EngineCore
from acd.domain.decisions import CancelRing, Decision, QueueEventKind
from acd.domain.errors import AcdError, UnknownQueue
from acd.domain.records import AgentRecord, CallRecord
from acd.domain.waiting import wait_key

S = AgentState
CLOSING_OUTCOMES = frozenset({"completed", "expired", "failed", "cancelled"})


class CallbackMoves(EngineCore):
    """The callback inputs of :class:`acd.domain.engine.AcdEngine`."""

    def callback_requested(
        self,
        request_id: str,
        queue_id: str,
        joined_at: float,
        now: float,
        *,
        priority: int = 0,
        eligible_at: float | None = None,
        expires_at: float | None = None,
    ) -> list[Decision]:
        """A request enters the line at the place of a caller who joined at
        ``joined_at`` (also after a restart: the store keeps that time)."""
        cfg = self._queues.get(queue_id)
        if cfg is None:
            raise UnknownQueue(f"queue {queue_id!r} is not configured")
        if request_id in self._calls:
            raise AcdError(f"request {request_id!r} is already queued")
        self._join_seq += 1
        key = wait_key(priority, joined_at, self._join_seq)
        call = CallRecord(
            id=request_id, queue_id=queue_id, cfg=cfg, priority=priority, joined_at=joined_at,
            key=key, channel="callback", eligible_at=eligible_at,
        )
        self._calls[request_id] = call
        waiting = self._waiting[queue_id]
        waiting.add(key, request_id)
        out: list[Decision] = []
        self._event(
            out, "callback_requested", call, None, now, position=waiting.position(key),
            eligible_at=eligible_at, expires_at=expires_at,
        )
        if expires_at is not None:
            call.expiry_timer = self._deadlines.add("callback_expiry", request_id, expires_at)
        if call.eligible(now):
            self._dispatch_call(call, now, out)
        else:
            assert eligible_at is not None
            self._deadlines.add("eligible", request_id, eligible_at)
        return out

    def callback_retry(
        self, request_id: str, eligible_at: float, now: float, outcome: str = "no_answer"
    ) -> list[Decision]:
        """The customer did not answer: the request goes back to its place,
        eligible again at ``eligible_at``; its agent is free, and this does
        not count as the agent's unanswered offer (D10)."""
        call = self._call(request_id)
        if not call.is_callback:
            raise AcdError(f"{request_id!r} is not a callback request")
        out: list[Decision] = []
        call.eligible_at = eligible_at  # first: the freed agent must not take it again
        for offer_id in sorted(call.offers):
            offer = self._offers[offer_id]
            rec = self._agents[offer.agent_id]
            self._drop_offer(offer, call)
            rec.offer_id = None
            out.append(CancelRing(offer_id=offer_id, reason="callback_retry"))
            self._become_ready(rec, "callback_retry", now, out, idle=False)
            self._serve_agent(rec, now, out)
        if call.agent_id is not None:
            rec = self._agents[call.agent_id]
            call.agent_id = None
            call.answered_at = None
            rec.call_id = None
            self._waiting[call.queue_id].add(call.key, call.id)
            self._release_agent(rec, now, out)
        self._event(out, "callback_attempt", call, None, now, outcome=outcome,
                    eligible_at=eligible_at)
        self._deadlines.add("eligible", request_id, eligible_at)
        return out

    def callback_claimed(self, request_id: str, until: float, now: float) -> list[Decision]:
        """B5: an agent opened the request on the callback list: it keeps its
        place but is not dialled automatically until ``until`` (the claim
        runs out; a renewed claim moves it on) or :meth:`callback_released`.
        A request being dialled now cannot be claimed."""
        call = self._waiting_request(request_id)
        if call.offers:
            raise AcdError(f"request {request_id!r} is being called now")
        call.eligible_at = until
        self._deadlines.add("eligible", request_id, until)
        return []

    def callback_released(
        self, request_id: str, now: float, eligible_at: float | None = None
    ) -> list[Decision]:
        """B5: the claim is over without closing the request (cancelled on the
        list, or the agent's call went unanswered: then ``eligible_at`` is the
        retry time); it is dialled in its turn again."""
        call = self._waiting_request(request_id)
        call.eligible_at = eligible_at
        out: list[Decision] = []
        if call.eligible(now):
            self._dispatch_call(call, now, out)
        else:
            assert eligible_at is not None
            self._deadlines.add("eligible", request_id, eligible_at)
        return out

    def _waiting_request(self, request_id: str) -> CallRecord:
        call = self._call(request_id)
        if not call.is_callback:
            raise AcdError(f"{request_id!r} is not a callback request")
        if not call.waiting:
            raise AcdError(f"request {request_id!r} is being called now")
        return call

    def callback_closed(self, request_id: str, outcome: str, now: float) -> list[Decision]:
        """The request is over: ``completed`` (talked), ``failed`` (no attempt
        left), ``expired`` (validity over), ``cancelled`` (closed by hand)."""
        if outcome not in CLOSING_OUTCOMES:
            raise AcdError(f"outcome {outcome!r} must be one of {sorted(CLOSING_OUTCOMES)}")
        call = self._call(request_id)
        if not call.is_callback:
            raise AcdError(f"{request_id!r} is not a callback request")
        out: list[Decision] = []
        kind: QueueEventKind = (
            "callback_expired" if outcome == "expired" else "callback_completed"
        )
        if call.waiting:
            self._leave(call, kind, f"callback_{outcome}", now, out, outcome=outcome)
            return out
        # Bridged: the agent's call with the customer is over.
        if call.expiry_timer is not None:
            call.expiry_timer.cancel()
        self._event(out, kind, call, call.agent_id, now, outcome=outcome)
        out += self.call_ended(request_id, now)
        return out

    def call_ended(self, call_id: str, now: float) -> list[Decision]:
        raise NotImplementedError  # acd.domain.engine.AcdEngine

    def _release_agent(self, rec: AgentRecord, now: float, out: list[Decision]) -> None:
        """An agent on a callback attempt that did not reach the customer."""
        if rec.pending_logout is not None:
            self._logout(rec, rec.pending_logout, now, out)
        elif rec.pending_pause is not None:
            reason, rec.pending_pause = rec.pending_pause, None
            self._pause(rec, reason, now, out)
        else:
            next_state(rec.state, "call_ended")  # on_call -> ready, checked
            self._become_ready(rec, "callback_retry", now, out, idle=False)

    def _expire_callback(self, call: CallRecord, now: float, out: list[Decision]) -> None:
        """B2 validity: a request still waiting when it runs out is closed
        (an ``Overflow`` with reason ``callback_expired`` tells the channel)."""
        if not call.waiting or call.offers:
            return  # being called: the attempt decides
        self._leave(call, "callback_expired", "callback_expired", now, out, outcome="expired")
