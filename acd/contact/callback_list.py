"""The callback list (B5): agents work callback requests from the desktop.

Theory of operation
-------------------
Requests wait in the engine at their caller's place (B1) and are dialled in
their turn by :class:`~acd.contact.channels.callback.CallbackChannel`. The
list lets an agent take one by hand instead::

    claim -> call (agent's phone, then the customer) -> note + outcome
          \\-> release (cancel), or the claim runs out

- **Claim**: the request is locked for its agent (others see who holds it)
  and the engine does not dial it while the claim lasts
  (``callback_claimed``): ``CLAIM_S`` to start the call; once the call
  starts, until the agent has written what happened (``NOTE_HOLD_S`` at
  most). A claim that runs out frees the request by itself (the engine's
  deadline; the list shows it free from then on).
- **Call**: a call-out (:class:`~acd.contact.callout.Callouts`, O2) from the
  agent to the request's number, showing the queue's group number when the
  agent may present it (N3).
- **Note**: after the call the agent owes a short text before taking
  another item. ``done`` closes the request; ``no_answer`` is an attempt:
  back to its place, eligible again after the queue's retry delay, closed
  as failed after the last attempt (B2).
- Supervisors of the queue (and admins) re-assign an item to an agent of
  the queue (a claim in that agent's name) or close it with a note.

Every change is written to the store before the answer, and published on
the hub as a ``callback`` event (the request's view): open pages update
without reload.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import structlog

from acd.calls.status import Outcome
from acd.contact.callout import CallOutError, Callouts
from acd.contact.centre import ContactCentre
from acd.contact.channels.callback import CallbackChannel
from acd.domain import AcdError, Decision
from acd.domain.callback_list import OPEN, Attempt, CallbackRequest

log = structlog.stdlib.get_logger("jono.callback")

CLAIM_S = 120.0  # to start the call after opening an item
NOTE_HOLD_S = 1800.0  # the call and the note after it
ASSIGN_S = 1800.0  # an item a supervisor gave to an agent
NOTE_MAX = 500
CLOSED_SHOWN_S = 24 * 3600.0  # closed items stay on the list a day
OUTCOMES = ("done", "no_answer")
_seq = itertools.count(1)  # views in the order they were made: a page keeps the newest


class ListError(Exception):
    """Why a list action is refused; ``status`` is the HTTP answer that fits."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class CallbackList:
    def __init__(
        self, centre: ContactCentre, channel: CallbackChannel, callouts: Callouts
    ) -> None:
        self.centre = centre
        self.channel = channel
        self.callouts = callouts
        self._owed: dict[str, str] = {}  # agent -> request whose note they owe
        self._calls: dict[str, str] = {}  # request -> call-out id
        self._call_outcome: dict[str, str] = {}  # request -> how its list call ended
        channel.on_change = self.changed
        centre.hub.add_listener(self._on_event)

    # -- reading ------------------------------------------------------------------------
    async def listing(
        self, queues: Iterable[str] | None, *, statuses: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Open requests and those closed in the last day, of ``queues`` (None: all)."""
        wanted = None if queues is None else sorted(set(queues))
        if wanted == []:
            return []
        now = self.centre.now()
        stored = await asyncio.to_thread(
            self.channel.repository.listing, queues=wanted,
            statuses=None if statuses is None else list(statuses), limit=2000,
            closed_since=now - CLOSED_SHOWN_S,
        )
        return [self.view(self.channel.requests.get(r.id, r), now) for r in stored]

    def view(self, request: CallbackRequest, now: float | None = None) -> dict[str, Any]:
        now = self.centre.now() if now is None else now
        holder = self._holder(request, now)
        return {
            "id": request.id, "queue": request.queue, "number": request.number,
            "caller": request.caller, "name": request.caller_name,
            "requested_at": request.requested_at, "joined_at": request.joined_at,
            "window": request.window, "eligible_at": request.eligible_at,
            "expires_at": request.expires_at, "status": request.status,
            "digits": dict(request.variables), "handler": request.handler,
            "note": request.note, "attempts": len(request.attempts),
            "claimed_by": holder,
            "claimed_until": request.claimed_until if holder is not None else None,
            "calling": request.id in self._calls,
            "call_outcome": self._call_outcome.get(request.id),
            "note_owed": holder is not None and self._owed.get(holder) == request.id,
            "seq": next(_seq),
        }

    def owed(self, agent: str) -> str | None:
        return self._owed.get(agent)

    # -- an agent's actions -----------------------------------------------------------
    async def claim(self, agent: str, request_id: str) -> dict[str, Any]:
        request = self._open(request_id)
        now = self.centre.now()
        owed = self._owed.get(agent)
        if owed is not None and owed != request_id:
            raise ListError("write what happened on your last callback first")
        holder = self._holder(request, now)
        if holder is not None and holder != agent:
            raise ListError(f"{holder} has this request open")
        if request.status == "calling" and holder is None:
            raise ListError("this request is being called back now")
        until = now + CLAIM_S
        self._engine(lambda t: self.centre.engine.callback_claimed(request.id, until, t))
        request.claimed_by, request.claimed_until = agent, until
        await self.channel.save(request)
        log.info("callback claimed", request=request.id, agent=agent)
        return self.view(request)

    async def release(self, agent: str, request_id: str) -> dict[str, Any]:
        request = self._held(agent, request_id)
        if self._owed.get(agent) == request_id:
            raise ListError("write what happened on the call first")
        await self._unclaim(request)
        log.info("callback released", request=request.id, agent=agent)
        return self.view(request)

    async def call(self, agent: str, request_id: str) -> dict[str, Any]:
        request = self._held(agent, request_id)
        if request_id in self._calls:
            raise ListError("this request is being called")
        try:
            self.callouts.start(
                agent, request.number, self._caller_id(agent, request.queue),
                label=request.caller_name or request.number,
            )
        except CallOutError as err:
            raise ListError(str(err), err.status) from None
        current = self.callouts.current(agent)
        assert current is not None
        now = self.centre.now()
        until = now + NOTE_HOLD_S
        self._engine(lambda t: self.centre.engine.callback_claimed(request.id, until, t))
        request.claimed_until, request.handler = until, agent
        self._calls[request.id] = current.id
        self._call_outcome.pop(request.id, None)
        self._owed[agent] = request.id
        await self.channel.save(request)
        log.info("callback called from the list", request=request.id, agent=agent)
        return self.view(request)

    async def finish(
        self, agent: str, request_id: str, outcome: str, note: str
    ) -> dict[str, Any]:
        """After the call: ``done`` closes the request, ``no_answer`` re-queues it."""
        if outcome not in OUTCOMES:
            raise ListError(f"outcome must be one of {', '.join(OUTCOMES)}", 400)
        text = _clean(note)
        if not text:
            raise ListError("write a short description of the call", 400)
        request = self._held(agent, request_id)
        if request.id in self._calls and self._call_active(agent):
            raise ListError("the call is still going on")
        now = self.centre.now()
        heard = self._call_outcome.pop(request.id, None)
        self._calls.pop(request.id, None)
        engine = self.centre.engine
        request.attempts.append(Attempt(
            at=now, agent=agent, outcome="answered" if outcome == "done" else heard or "no_answer",
            note=text,
        ))
        request.handler, request.note = agent, text
        request.claimed_by = request.claimed_until = None
        if outcome == "done":
            self._close(request, "done", "completed", now)
        else:
            settings = self.channel.settings(request.queue)
            attempts = settings.attempts if settings is not None else 1
            if len(request.attempts) >= attempts:
                self._close(request, "failed", "failed", now)
            else:
                eligible = now + (settings.retry_after * 60 if settings is not None else 0)
                request.status, request.eligible_at = "requeued", eligible
                self._engine(lambda t: engine.callback_released(request.id, t, eligible))
        if self._owed.get(agent) == request.id:
            del self._owed[agent]
        await self.channel.save(request)
        log.info("callback noted", request=request.id, agent=agent, outcome=outcome,
                 status=request.status)
        return self.view(request)

    # -- a supervisor's actions ----------------------------------------------------------
    async def assign(self, by: str, request_id: str, agent: str) -> dict[str, Any]:
        request = self._open(request_id)
        plan = self.centre.plan
        queue = plan.queues.get(request.queue) if plan is not None else None
        if queue is None or agent not in queue.members:
            raise ListError(f"{agent!r} is not an agent of {request.queue}", 400)
        self._not_in_a_call(request)
        if request.status == "calling" and self._holder(request, self.centre.now()) is None:
            raise ListError("this request is being called back now")
        self._forget_claim(request)
        until = self.centre.now() + ASSIGN_S
        self._engine(lambda t: self.centre.engine.callback_claimed(request.id, until, t))
        request.claimed_by, request.claimed_until = agent, until
        request.note = f"assigned to {agent} by {by}"
        await self.channel.save(request)
        log.info("callback assigned", request=request.id, agent=agent, by=by)
        return self.view(request)

    async def close(self, by: str, request_id: str, note: str) -> dict[str, Any]:
        request = self._open(request_id)
        text = _clean(note)
        if not text:
            raise ListError("say why the request is closed", 400)
        self._not_in_a_call(request)
        if request.status == "calling" and self._holder(request, self.centre.now()) is None:
            raise ListError("this request is being called back now")
        self._forget_claim(request)
        request.claimed_by = request.claimed_until = None
        request.note = f"closed by {by}: {text}"
        self._close(request, "cancelled", "cancelled", self.centre.now())
        await self.channel.save(request)
        log.info("callback closed by hand", request=request.id, by=by)
        return self.view(request)

    # -- events ---------------------------------------------------------------------------
    def changed(self, request: CallbackRequest) -> None:
        """Published after every durable change (the channel's and the list's)."""
        self.centre.hub.publish({
            "type": "callback", "queue": request.queue, "at": self.centre.now(),
            "request": self.view(request),
        })

    def _on_event(self, event: dict[str, object]) -> None:
        """A list call's call-out ended: the item waits for the agent's note."""
        if event.get("type") != "callout" or event.get("status") != "ended":
            return
        agent = str(event.get("agent"))
        request_id = self._owed.get(agent)
        if request_id is None or self._calls.get(request_id) != event.get("id"):
            return
        self._call_outcome[request_id] = str(event.get("outcome") or Outcome.NO_ANSWER.value)
        request = self.channel.requests.get(request_id)
        if request is not None:
            self.changed(request)

    # -- helpers ---------------------------------------------------------------------------
    def _open(self, request_id: str) -> CallbackRequest:
        request = self.channel.requests.get(request_id)
        if request is None or request.status not in OPEN:
            raise ListError("no open request with that id", 404)
        return request

    def _held(self, agent: str, request_id: str) -> CallbackRequest:
        request = self._open(request_id)
        if self._holder(request, self.centre.now()) != agent:
            raise ListError("open the request first (it is not yours now)")
        return request

    def _holder(self, request: CallbackRequest, now: float) -> str | None:
        """Who holds the request: a claim in time, or an agent who owes its note."""
        agent = request.claimed_by
        if agent is None:
            return None
        if self._owed.get(agent) == request.id:
            return agent
        return agent if (request.claimed_until or 0) > now else None

    def _call_active(self, agent: str) -> bool:
        current = self.callouts.current(agent)
        return current is not None and not current.ended

    def _not_in_a_call(self, request: CallbackRequest) -> None:
        holder = request.claimed_by
        if holder is not None and request.id in self._calls and self._call_active(holder):
            raise ListError(f"{holder} is calling this request now")

    def _forget_claim(self, request: CallbackRequest) -> None:
        holder = request.claimed_by
        if holder is not None and self._owed.get(holder) == request.id:
            del self._owed[holder]
        self._calls.pop(request.id, None)
        self._call_outcome.pop(request.id, None)

    async def _unclaim(self, request: CallbackRequest) -> None:
        request.claimed_by = request.claimed_until = None
        eligible = request.eligible_at if (request.eligible_at or 0) > self.centre.now() else None
        self._engine(lambda t: self.centre.engine.callback_released(request.id, t, eligible))
        await self.channel.save(request)

    def _close(self, request: CallbackRequest, status: str, outcome: str, now: float) -> None:
        request.status, request.closed_at = status, now
        self.channel.requests.pop(request.id, None)
        self._engine(lambda t: self.centre.engine.callback_closed(request.id, outcome, t))
        self.centre.work_over(request.id)

    def _engine(self, step: Callable[[float], list[Decision]]) -> None:
        """Run one engine move; its refusal becomes a ListError with the engine's reason."""
        refused: list[str] = []

        def guarded(now: float) -> list[Decision]:
            try:
                return step(now)
            except AcdError as err:
                refused.append(str(err))
                raise

        if not self.centre.run(guarded):
            raise ListError(refused[0] if refused else "the ACD refused")

    def _caller_id(self, agent: str, queue: str) -> str | None:
        """N3: the queue's own number when the agent may present it."""
        plan = self.centre.plan
        if plan is None:
            return None
        try:
            mine = set(self.callouts.caller_ids(agent))
        except CallOutError:
            return None
        for number, conf in plan.numbers.items():
            where = conf.destination
            if where.kind == "queue" and where.target == queue and number in mine:
                return number
        return None


def _clean(note: str) -> str:
    return " ".join(note.split())[:NOTE_MAX]
