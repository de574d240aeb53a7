"""The ACD engine: domain events in, decisions out.

Theory of operation
-------------------
The engine holds callers waiting per queue (:mod:`waiting`), ready agents
per queue in strategy order (:mod:`ready_index`), one state per agent
(:mod:`agent_state`) and deadlines as data (:mod:`timers`). It does no I/O:
every method takes ``now`` (float seconds) and returns the decisions the
adapter must carry out, in order. The adapter calls :meth:`AcdEngine.tick`
at :meth:`AcdEngine.next_deadline`.

Matching happens at two moments only, which keeps one invariant: *no ready
agent could take a waiting caller that still needs an agent*, unless that
agent is cooling off for that caller.

* a caller needs agents (joins, an offer failed, a cool-off ended): ring the
  best ready agents of its queue (D2-D5), up to ``ring_at_once``;
* an agent becomes free (login, ready, unpause, presence, registration, an
  offer over): across the agent's queues serve the first caller in line of
  the highest-priority queue, then the longest waiting (caller priority
  first, then join time).

Choices where the spec leaves room (documented here, tested by name):

* D10: a rejection counts as unanswered, like a no-answer; an unreachable
  agent (no device could be rung) is counted apart and never logs out.
* Q6 ``ring_attempts`` counts ring *rounds*: a round starts when a caller
  with no ringing offer starts ringing; agents added while it rings join it.
* An agent who rejected or missed a call is not offered the same call again
  until the queue's ``retry_after`` has passed; meanwhile other agents get
  it, and a timer re-offers it when the cool-off ends.
* A pause or logout asked for during a call applies when the call ends and
  skips wrap-up. Pausing while ringing cancels the offer.
* D4 "idle since" is the end of the last call or wrap-up, login, or unpause;
  a failed or cancelled offer does not reset it.
* D10 uses the ``auto_logout_after`` of the queue whose call went unanswered.
* Q6: "no agents available" means every logged-in agent is paused, blocked
  by presence (where the queue says so) or unreachable; agents busy on
  calls or in wrap-up count as available. Both Q6 reasons overflow a caller
  on joining and, when the last serving agent goes, every waiting caller
  that is not ringing - only if the queue names a destination for them.
* When several agents free up at once, callers are served in line order
  and each takes the best of them by its queue's strategy. Timers due at
  the same instant fire cool-off ends first.
* ``retry_after: 0`` lets an agent who failed a call be offered it again at
  once (it is still the first caller in line).
* Work the engine did not offer (a direct or outbound call, D11 on call
  internal/outbound) keeps an agent on_call and out of every offer; a
  logout during it applies at once (there is no queue call to finish).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

from acd.domain.agent_state import AgentState, next_state
from acd.domain.callbacks import CallbackMoves
from acd.domain.config import AgentConfig, QueueConfig
from acd.domain.decisions import Bridge, CancelRing, Decision
from acd.domain.errors import AcdError, UnknownAgent, UnknownQueue
from acd.domain.ewt import HandleTimes
from acd.domain.ready_index import ReadyIndex, among_equals_of
from acd.domain.records import AgentRecord, CallRecord
from acd.domain.repository import AgentRepository
from acd.domain.snapshots import EngineQueries
from acd.domain.waiting import WaitingList, wait_key
from acd.domain.work import WorkItem

S = AgentState
FAILURE_REASONS = frozenset({"rejected", "no_answer", "unreachable"})


class AcdEngine(CallbackMoves, EngineQueries):
    def __init__(
        self, *, repository: AgentRepository | None = None, rng: random.Random | None = None
    ) -> None:
        super().__init__(repository=repository, rng=rng)

    # ------------------------------------------------------------ config

    def configure(
        self,
        queues: Mapping[str, QueueConfig],
        agents: Mapping[str, AgentConfig],
        now: float,
    ) -> list[Decision]:
        """Swap in a new configuration (S3); calls keep their queue snapshot."""
        out: list[Decision] = []
        for qid, cfg in queues.items():
            for agent_id in cfg.members:
                if agent_id not in agents:
                    raise UnknownAgent(f"queue {qid!r}: member {agent_id!r} is not an agent")
        self._queues = dict(queues)
        self._members_of = {agent_id: set() for agent_id in agents}
        for qid, cfg in self._queues.items():
            for agent_id in cfg.members:
                self._members_of[agent_id].add(qid)
            self._waiting.setdefault(qid, WaitingList())
            self._logged_in.setdefault(qid, set())
            self._handle.setdefault(qid, HandleTimes())
        # Strategy and levels may have changed: indices are rebuilt below.
        self._ready = {
            qid: ReadyIndex(random_order=among_equals_of(cfg) == "random")
            for qid, cfg in self._queues.items()
        }
        for agent_id, acfg in agents.items():
            rec = self._agents.get(agent_id)
            if rec is None:
                self._agents[agent_id] = AgentRecord(id=agent_id, config=acfg, since=now)
            else:
                rec.config = acfg
                rec.removed = False
        for agent_id, rec in list(self._agents.items()):
            if agent_id not in agents:
                rec.removed = True
                if rec.state is S.LOGGED_OUT:
                    del self._agents[agent_id]
                else:
                    # On a call: removed when the call ends.
                    self._logout(rec, "removed_from_config", now, out)
                continue
            keep = rec.queues & self._members_of[agent_id]
            for qid in rec.queues - keep:
                self._logged_in.get(qid, set()).discard(agent_id)
            rec.queues = keep
            if not keep and rec.state is not S.LOGGED_OUT:
                self._logout(rec, "removed_from_queues", now, out)
        # S4: callers of a deleted queue leave it; the flow layer answers them.
        for qid in list(self._waiting):
            if qid in self._queues:
                continue
            for call_id in list(self._waiting[qid]):
                self._leave(self._calls[call_id], "overflowed", "queue_removed", now, out)
            del self._waiting[qid]
            self._logged_in.pop(qid, None)
        for rec in self._agents.values():
            self._reindex(rec)
        # Everyone ready at once: callers in line order pick the best agents.
        self._serve_agents([r for r in self._agents.values() if r.state is S.READY], now, out)
        return out

    # ----------------------------------------------------------- callers

    def caller_joined(
        self, call_id: str, queue_id: str, now: float, priority: int = 0
    ) -> list[Decision]:
        cfg = self._queues.get(queue_id)
        if cfg is None:
            raise UnknownQueue(f"queue {queue_id!r} is not configured")
        if call_id in self._calls:
            raise AcdError(f"call {call_id!r} is already queued")
        waiting = self._waiting[queue_id]
        out: list[Decision] = []
        self._join_seq += 1
        key = wait_key(priority, now, self._join_seq)
        call = CallRecord(
            id=call_id, queue_id=queue_id, cfg=cfg, priority=priority, joined_at=now, key=key
        )
        self._calls[call_id] = call
        waiting.add(key, call_id)
        position = waiting.position(key)
        self._event(out, "entered", call, None, now, position=position, priority=priority)
        # Q5: max calls in queue.
        if cfg.max_callers is not None and len(waiting) > cfg.max_callers:
            self._leave(call, "overflowed", "max_callers", now, out)
            return out
        # Q6: destination when no agents are logged in / available.
        reason = self._unstaffed_reason(queue_id, cfg)
        if reason is not None:
            self._leave(call, "overflowed", reason, now, out)
            return out
        if cfg.max_wait is not None:
            call.max_wait_timer = self._deadlines.add("max_wait", call_id, now + cfg.max_wait)
        self._dispatch_call(call, now, out)
        return out

    def caller_left(self, call_id: str, now: float) -> list[Decision]:
        """The caller hung up: abandoned while waiting, or the end of its call."""
        call = self._call(call_id)
        if not call.waiting:
            return self.call_ended(call_id, now)
        out: list[Decision] = []
        self._leave(call, "abandoned", "caller_left", now, out)
        return out

    def caller_pressed(self, call_id: str, digit: str, now: float) -> list[Decision]:
        """Q7: the exit key takes the caller out of the queue."""
        call = self._call(call_id)
        out: list[Decision] = []
        if call.waiting and call.cfg.exit_key is not None and digit == call.cfg.exit_key:
            self._leave(call, "exited_by_key", "exit_key", now, out, digit=digit)
        return out

    def caller_chose_callback(self, call_id: str, now: float) -> list[Decision]:
        """B1: the caller leaves the line to be called back (the request that
        keeps their place enters with ``callback_requested``)."""
        call = self._call(call_id)
        out: list[Decision] = []
        if call.waiting:
            self._leave(call, "exited_by_key", "callback", now, out)
        return out

    def call_ended(self, call_id: str, now: float) -> list[Decision]:
        """The bridged call is over: the agent goes to wrap-up (D9)."""
        call = self._call(call_id)
        if call.waiting:
            return self.caller_left(call_id, now)
        out: list[Decision] = []
        del self._calls[call_id]
        assert call.agent_id is not None and call.answered_at is not None
        self._handle[call.queue_id].add(now - call.answered_at + call.cfg.wrap_up)
        rec = self._agents[call.agent_id]
        rec.call_id = None
        if rec.pending_logout is not None:
            self._logout(rec, rec.pending_logout, now, out)
        elif rec.pending_pause is not None:
            reason, rec.pending_pause = rec.pending_pause, None
            self._pause(rec, reason, now, out)
        elif call.cfg.wrap_up > 0:
            new = next_state(rec.state, "call_ended_wrap_up")
            self._set_state(rec, new, "call_ended", now, out)
            rec.wrap_timer = self._deadlines.add("wrap_up_over", rec.id, now + call.cfg.wrap_up)
        else:
            self._become_ready(rec, "call_ended", now, out, idle=True)
        return out

    # ------------------------------------------------------------ offers

    def offer_answered(self, offer_id: str, device_id: str, now: float) -> list[Decision]:
        offer = self._offers.get(offer_id)
        if offer is None:
            # The offer ended (timeout, cancel) as the answer came: drop that leg.
            return [CancelRing(offer_id=offer_id, reason="stale_offer")]
        if device_id not in offer.devices:
            raise AcdError(f"offer {offer_id!r} did not ring device {device_id!r}")
        out: list[Decision] = []
        call = self._calls[offer.call_id]
        rec = self._agents[offer.agent_id]
        self._drop_offer(offer, call)
        # D7: first answer wins; the other agents ringing for this call stop.
        freed: list[AgentRecord] = []
        for other_id in sorted(call.offers):
            other = self._offers[other_id]
            self._drop_offer(other, call)
            out.append(CancelRing(offer_id=other_id, reason="answered_elsewhere"))
            other_rec = self._agents[other.agent_id]
            other_rec.offer_id = None
            self._become_ready(other_rec, "answered_elsewhere", now, out, idle=False)
            freed.append(other_rec)
        position = self._waiting[call.queue_id].position(call.key)
        self._waiting[call.queue_id].remove(call.key)
        if call.max_wait_timer is not None:
            call.max_wait_timer.cancel()
        call.agent_id = rec.id
        call.answered_at = now
        rec.offer_id = None
        rec.call_id = call.id
        rec.unanswered_in_a_row = 0
        rec.unreachable_in_a_row = 0
        self._set_state(rec, next_state(rec.state, "answer"), "answered", now, out)
        # D11: a callback is Jono calling the customer: outbound for the agent.
        rec.call_kind = "outbound" if call.is_callback else "inbound"
        out.append(Bridge(call_id=call.id, agent_id=rec.id, offer_id=offer_id, device_id=device_id))
        self._event(
            out,
            "answered",
            call,
            rec.id,
            now,
            wait=now - call.joined_at,
            position=position,
            offer_id=offer_id,
            device_id=device_id,
        )
        self._serve_agents(freed, now, out)
        return out

    def offer_failed(
        self, offer_id: str, device_id: str | None, reason: str, now: float
    ) -> list[Decision]:
        """Every device of the offer failed: ``rejected``, ``no_answer``, ``unreachable``."""
        if reason not in FAILURE_REASONS:
            raise AcdError(
                f"offer failure reason {reason!r} must be one of {sorted(FAILURE_REASONS)}"
            )
        offer = self._offers.get(offer_id)
        out: list[Decision] = []
        if offer is not None:
            self._fail_offer(offer, reason, now, out)
        return out

    # ------------------------------------------------------------ agents

    def agent_login(
        self, agent_id: str, queues: Iterable[str] | None, now: float
    ) -> list[Decision]:
        """D1: log in to ``queues`` (None: every queue the agent is a member of)."""
        rec = self._agent(agent_id)
        members = self._members_of.get(agent_id, set())
        wanted = set(members) if queues is None else set(queues)
        for qid in wanted - members:
            raise AcdError(f"agent {agent_id!r} is not a member of queue {qid!r}")
        out: list[Decision] = []
        if not wanted:
            return out
        rec.queues |= wanted
        for qid in wanted:
            self._logged_in[qid].add(agent_id)
        if rec.state is S.LOGGED_OUT:
            rec.pending_logout = None
            rec.unanswered_in_a_row = 0
            rec.unreachable_in_a_row = 0
            self._become_ready(rec, "login", now, out, idle=True, event="login")
        else:
            self._reindex(rec)
            if rec.state is S.READY:
                self._serve_agent(rec, now, out)
        return out

    def agent_logout(
        self,
        agent_id: str,
        now: float,
        queues: Iterable[str] | None = None,
        reason: str = "logout",
    ) -> list[Decision]:
        """Log out of ``queues`` (None: all); out of the last one means logged out."""
        rec = self._agent(agent_id)
        out: list[Decision] = []
        if rec.state is S.LOGGED_OUT:
            return out
        leaving = set(rec.queues) if queues is None else set(queues) & rec.queues
        if leaving >= rec.queues:
            self._logout(rec, reason, now, out)
            return out
        rec.queues -= leaving
        for qid in leaving:
            self._logged_in[qid].discard(agent_id)
        if rec.offer_id is not None and self._offers[rec.offer_id].queue_id in leaving:
            self._cancel_agent_offer(rec, "agent_logged_out", now, out)
            self._become_ready(rec, "left_queue", now, out, idle=False)
        self._reindex(rec)
        if rec.state is S.READY:
            self._serve_agent(rec, now, out)
        self._check_unstaffed(leaving, now, out)
        return out

    def agent_ready(self, agent_id: str, now: float) -> list[Decision]:
        """The agent says "ready": ends wrap-up (D9) or a pause."""
        rec = self._agent(agent_id)
        out: list[Decision] = []
        if rec.state is S.WRAP_UP:
            self._end_wrap_up(rec, "end_wrap_up", now, out)
        elif rec.state is S.PAUSED:
            self._become_ready(rec, "unpause", now, out, idle=True, event="unpause")
        elif rec.state is S.ON_CALL:
            rec.pending_pause = None
        elif rec.state is S.LOGGED_OUT:
            next_state(rec.state, "unpause")  # raises IllegalTransition
        return out

    def end_wrap_up(self, agent_id: str, now: float) -> list[Decision]:
        """D9: the agent ends wrap-up early."""
        rec = self._agent(agent_id)
        out: list[Decision] = []
        next_state(rec.state, "wrap_up_over")
        self._end_wrap_up(rec, "end_wrap_up", now, out)
        return out

    def wrap_up_over(self, agent_id: str, now: float) -> list[Decision]:
        """D9: wrap-up time is over (for adapters that keep their own timer).

        Does nothing unless the agent is in wrap-up, so a late call is harmless.
        """
        rec = self._agent(agent_id)
        out: list[Decision] = []
        if rec.state is S.WRAP_UP:
            self._end_wrap_up(rec, "wrap_up_over", now, out)
        return out

    def agent_pause(self, agent_id: str, reason: str, now: float) -> list[Decision]:
        rec = self._agent(agent_id)
        out: list[Decision] = []
        if rec.state is S.ON_CALL:
            rec.pending_pause = reason
            return out
        self._pause(rec, reason, now, out)
        return out

    def agent_unpause(self, agent_id: str, now: float) -> list[Decision]:
        rec = self._agent(agent_id)
        if rec.state is S.PAUSED or rec.state is S.ON_CALL:
            return self.agent_ready(agent_id, now)
        if rec.state is S.LOGGED_OUT:
            next_state(rec.state, "unpause")
        return []

    def agent_presence(self, agent_id: str, busy: bool, now: float) -> list[Decision]:
        """D8: presence busy/red (DND, meeting)."""
        rec = self._agent(agent_id)
        rec.presence_busy = busy
        return self._eligibility_changed(rec, now)

    def device_registered(self, agent_id: str, device_id: str, now: float) -> list[Decision]:
        rec = self._agent(agent_id)
        rec.registered.add(device_id)
        return self._eligibility_changed(rec, now)

    def device_unregistered(self, agent_id: str, device_id: str, now: float) -> list[Decision]:
        rec = self._agent(agent_id)
        rec.registered.discard(device_id)
        return self._eligibility_changed(rec, now)

    # ------------------------------------------------- work not offered

    def agent_engaged(self, agent_id: str, item: WorkItem, now: float) -> list[Decision]:
        """The agent took or made a call the engine did not offer (a direct,
        internal or outbound call; see :mod:`acd.domain.work`). A ready agent
        goes on_call; a ringing offer is withdrawn and its caller keeps its
        place (D12; not counted as unanswered, D10). Other states stay: the
        agent is on_call when it would otherwise become ready."""
        rec = self._agent(agent_id)
        out: list[Decision] = []
        if item.id in rec.engaged:
            return out
        rec.engaged[item.id] = item
        if rec.state is S.RESERVED and rec.offer_id is not None:
            self._cancel_agent_offer(rec, "agent_busy", now, out)
        if rec.state is S.READY:
            self._repo.try_reserve(rec.id)
        if rec.state in (S.READY, S.RESERVED):
            self._set_state(rec, next_state(rec.state, "engage"), f"{item.kind}_call", now, out)
            rec.call_kind = item.kind
        return out

    def agent_released(
        self, agent_id: str, item_id: str, now: float, wrap_up: float = 0.0
    ) -> list[Decision]:
        """The work of :meth:`agent_engaged` is over. An agent it kept on_call
        goes to wrap-up for ``wrap_up`` seconds (O5), a pause asked for during
        the call, or ready."""
        rec = self._agent(agent_id)
        out: list[Decision] = []
        if rec.engaged.pop(item_id, None) is None:
            return out
        if rec.state is not S.ON_CALL or rec.call_id is not None:
            return out  # not on_call for this work (paused, wrap-up, a queue call)
        if rec.engaged:
            rec.call_kind = next(iter(rec.engaged.values())).kind
            return out
        if rec.pending_pause is not None:
            reason, rec.pending_pause = rec.pending_pause, None
            self._pause(rec, reason, now, out)
        elif wrap_up > 0:
            self._set_state(rec, next_state(rec.state, "release_wrap_up"), "call_ended", now, out)
            rec.wrap_timer = self._deadlines.add("wrap_up_over", rec.id, now + wrap_up)
        else:
            self._become_ready(rec, "call_ended", now, out, idle=True, event="release")
        return out

    # ------------------------------------------------------------- clock

    def next_deadline(self) -> float | None:
        return self._deadlines.next_at()

    def tick(self, now: float) -> list[Decision]:
        """Fire every deadline due at ``now``: ring timeouts (D6), wrap-up ends
        (D9), max wait (Q5) and cool-off ends."""
        out: list[Decision] = []
        while (timer := self._deadlines.pop_due(now)) is not None:
            at = timer.at
            if timer.kind == "ring_timeout":
                offer = self._offers.get(timer.key)
                if offer is not None:
                    out.append(CancelRing(offer_id=offer.id, reason="ring_timeout"))
                    self._fail_offer(offer, "no_answer", at, out)
            elif timer.kind == "wrap_up_over":
                rec = self._agents.get(timer.key)
                if rec is not None and rec.state is S.WRAP_UP and rec.wrap_timer is timer:
                    self._end_wrap_up(rec, "wrap_up_over", at, out)
            elif timer.kind == "max_wait":
                call = self._calls.get(timer.key)
                if call is not None and call.waiting:
                    self._leave(call, "overflowed", "max_wait", at, out)
            elif timer.kind == "callback_expiry":
                call = self._calls.get(timer.key)
                if call is not None and call.expiry_timer is timer:
                    self._expire_callback(call, at, out)
            else:
                call = self._calls.get(timer.key)
                if call is not None and call.waiting:
                    self._dispatch_call(call, at, out)
        return out
