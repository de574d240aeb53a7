"""The engine's state and the moves shared by its events.

:class:`EngineCore` owns the bookkeeping (agents, calls, offers, waiting
lists, ready indices, deadlines) and the two matching moves described in
:mod:`acd.domain.engine`: ring agents for a caller (``_dispatch_call``) and
find a caller for a free agent (``_serve_agent``). The public event methods
live in :class:`acd.domain.engine.AcdEngine`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from acd.domain.agent_state import AgentState, next_state
from acd.domain.config import ALWAYS_REACHABLE_KINDS, QueueConfig
from acd.domain.decisions import (
    AgentStateChanged,
    CancelRing,
    Decision,
    LoggedOut,
    Overflow,
    QueueEvent,
    QueueEventKind,
    Ring,
)
from acd.domain.errors import UnknownAgent, UnknownCall
from acd.domain.ewt import HandleTimes
from acd.domain.ready_index import ReadyIndex, tier_of
from acd.domain.records import AgentRecord, CallRecord, OfferRecord
from acd.domain.repository import AgentRepository, InMemoryAgentRepository
from acd.domain.timers import Deadlines
from acd.domain.waiting import WaitingList

S = AgentState
CALLBACK_ATTEMPT_GUARD_S = 600.0


class EngineCore:
    def __init__(
        self, *, repository: AgentRepository | None = None, rng: random.Random | None = None
    ) -> None:
        self._repo: AgentRepository = repository or InMemoryAgentRepository()
        self._rng = rng or random.Random()
        self._queues: dict[str, QueueConfig] = {}
        self._members_of: dict[str, set[str]] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._calls: dict[str, CallRecord] = {}
        self._offers: dict[str, OfferRecord] = {}
        self._waiting: dict[str, WaitingList] = {}
        self._ready: dict[str, ReadyIndex] = {}
        self._logged_in: dict[str, set[str]] = {}
        self._handle: dict[str, HandleTimes] = {}
        self._deadlines = Deadlines()
        self._join_seq = 0
        self._offer_seq = 0

    def _agent(self, agent_id: str) -> AgentRecord:
        rec = self._agents.get(agent_id)
        if rec is None or rec.removed:
            raise UnknownAgent(f"agent {agent_id!r} is not configured")
        return rec

    def _call(self, call_id: str) -> CallRecord:
        call = self._calls.get(call_id)
        if call is None:
            raise UnknownCall(f"call {call_id!r} is not in the ACD")
        return call

    def _event(
        self,
        out: list[Decision],
        kind: QueueEventKind,
        call: CallRecord,
        agent_id: str | None,
        now: float,
        **data: object,
    ) -> None:
        out.append(
            QueueEvent(
                kind=kind,
                call_id=call.id,
                queue_id=call.queue_id,
                agent_id=agent_id,
                at=now,
                data=data,
            )
        )

    def _set_state(
        self, rec: AgentRecord, new: AgentState, reason: str, now: float, out: list[Decision]
    ) -> None:
        old = rec.state
        rec.state = new
        rec.since = now
        if new is not S.PAUSED:
            rec.pause_reason = None
        if new is not S.ON_CALL:
            rec.call_kind = None
        out.append(AgentStateChanged(agent_id=rec.id, old=old, new=new, reason=reason, at=now))
        self._reindex(rec)

    def _become_ready(
        self,
        rec: AgentRecord,
        reason: str,
        now: float,
        out: list[Decision],
        *,
        idle: bool,
        event: str | None = None,
    ) -> None:
        """Move to READY; ``idle`` restarts the D4 idle clock. Does not serve."""
        if event is None:
            event = {
                S.RESERVED: "offer_over",
                S.ON_CALL: "call_ended",
                S.WRAP_UP: "wrap_up_over",
            }.get(rec.state, reason)
        new = next_state(rec.state, event)
        if idle:
            rec.idle_since = now
        if rec.engaged:
            # Busy with work the engine did not offer: on_call, not ready.
            kind = next(iter(rec.engaged.values())).kind
            if rec.state is not S.ON_CALL:
                self._set_state(rec, S.ON_CALL, f"{kind}_call", now, out)
            rec.call_kind = kind
            return
        self._repo.release(rec.id)
        self._set_state(rec, new, reason, now, out)
        if event != "offer_over":
            self._serve_agent(rec, now, out)

    def _end_wrap_up(self, rec: AgentRecord, reason: str, now: float, out: list[Decision]) -> None:
        if rec.wrap_timer is not None:
            rec.wrap_timer.cancel()
            rec.wrap_timer = None
        self._become_ready(rec, reason, now, out, idle=True)

    def _pause(self, rec: AgentRecord, reason: str, now: float, out: list[Decision]) -> None:
        new = next_state(rec.state, "pause")
        if rec.state is S.RESERVED and rec.offer_id is not None:
            self._cancel_agent_offer(rec, "agent_paused", now, out)
        if rec.wrap_timer is not None:
            rec.wrap_timer.cancel()
            rec.wrap_timer = None
        self._repo.release(rec.id)
        self._set_state(rec, new, "pause", now, out)
        rec.pause_reason = reason
        self._check_unstaffed(rec.queues, now, out)

    def _logout(self, rec: AgentRecord, reason: str, now: float, out: list[Decision]) -> None:
        if rec.call_id is not None:
            rec.pending_logout = reason
            return
        new = next_state(rec.state, "logout")
        if rec.state is S.RESERVED and rec.offer_id is not None:
            self._cancel_agent_offer(rec, "agent_logged_out", now, out)
        if rec.wrap_timer is not None:
            rec.wrap_timer.cancel()
            rec.wrap_timer = None
        left = rec.queues
        for qid in left:
            self._logged_in.get(qid, set()).discard(rec.id)
        rec.queues = set()
        rec.pending_logout = None
        rec.pending_pause = None
        self._repo.release(rec.id)
        self._set_state(rec, new, reason, now, out)
        if reason == "auto_logout":
            out.append(LoggedOut(agent_id=rec.id, reason=reason, at=now))
        self._check_unstaffed(left, now, out)
        if rec.removed:
            self._agents.pop(rec.id, None)

    def _eligibility_changed(self, rec: AgentRecord, now: float) -> list[Decision]:
        out: list[Decision] = []
        self._reindex(rec)
        if rec.state is S.READY:
            self._serve_agent(rec, now, out)
        self._check_unstaffed(rec.queues, now, out)
        return out

    # ------------------------------------------------- eligibility / index

    def _devices_for(self, rec: AgentRecord, cfg: QueueConfig) -> tuple[str, ...]:
        """D7: the agent's reachable devices of the kinds the queue rings."""
        kinds = cfg.device_kinds
        return tuple(
            d.id
            for d in rec.config.devices
            if (not kinds or d.kind in kinds)
            and (d.kind in ALWAYS_REACHABLE_KINDS or d.id in rec.registered)
        )

    def _can_serve(self, rec: AgentRecord, cfg: QueueConfig) -> bool:
        """Logged-in agent not blocked by presence (D8) and reachable (D7)."""
        if cfg.presence_blocks and rec.presence_busy:
            return False
        return bool(self._devices_for(rec, cfg))

    def _reindex(self, rec: AgentRecord) -> None:
        for qid in self._members_of.get(rec.id, ()):
            index = self._ready.get(qid)
            if index is None:
                continue
            cfg = self._queues[qid]
            if (
                rec.state is S.READY
                and not rec.engaged
                and qid in rec.queues
                and self._can_serve(rec, cfg)
            ):
                index.add(rec.id, tier_of(cfg, rec.id), rec.idle_since)
            else:
                index.remove(rec.id)

    def _unstaffed_reason(self, queue_id: str, cfg: QueueConfig) -> str | None:
        """Q6: an overflow reason if the queue has a destination for it."""
        overflow = cfg.overflow
        if "no_agents_logged_in" not in overflow and "no_agents_available" not in overflow:
            return None
        logged_in = self._logged_in[queue_id]
        if not logged_in:
            return "no_agents_logged_in" if "no_agents_logged_in" in overflow else None
        if "no_agents_available" not in overflow:
            return None
        for agent_id in logged_in:
            rec = self._agents[agent_id]
            if rec.state is not S.PAUSED and self._can_serve(rec, cfg):
                return None
        return "no_agents_available"

    def _check_unstaffed(self, queue_ids: Iterable[str], now: float, out: list[Decision]) -> None:
        """Callers waiting in a queue nobody can serve any more leave it (Q6)."""
        for qid in list(queue_ids):
            cfg = self._queues.get(qid)
            if cfg is None or not len(self._waiting[qid]):
                continue
            reason = self._unstaffed_reason(qid, cfg)
            if reason is None:
                continue
            for call_id in list(self._waiting[qid]):
                call = self._calls[call_id]
                # A callback request waits for agents to come back; a caller leaves.
                if not call.offers and not call.is_callback:
                    self._leave(call, "overflowed", reason, now, out)

    # ------------------------------------------------------------ matching

    def _excluded(self, call: CallRecord, agent_id: str, now: float) -> bool:
        until = call.tried.get(agent_id)
        return until is not None and now < until

    def _waits_for_agents(self, call: CallRecord, now: float) -> bool:
        """Still in line for an offer now: not full of offers, not before its time."""
        return len(call.offers) < call.ring_limit() and call.eligible(now)

    def _dispatch_call(self, call: CallRecord, now: float, out: list[Decision]) -> None:
        """Ring the best ready agents for ``call`` (D2-D5)."""
        index = self._ready.get(call.queue_id)
        if index is None or not call.eligible(now):
            return
        while True:
            wanted = call.ring_limit() - len(call.offers)
            if wanted <= 0 or not len(index):
                return
            picked = index.pick(
                wanted, lambda agent_id: not self._excluded(call, agent_id, now), self._rng
            )
            if not picked:
                return
            for agent_id in picked:
                if self._repo.try_reserve(agent_id):
                    self._make_offer(call, self._agents[agent_id], now, out)
                else:
                    # Another node holds the agent; it is not ready for us.
                    index.remove(agent_id)

    def _serve_agent(self, rec: AgentRecord, now: float, out: list[Decision]) -> None:
        self._serve_agents((rec,), now, out)

    def _serve_agents(self, recs: Iterable[AgentRecord], now: float, out: list[Decision]) -> None:
        """Agents who just became free take callers.

        Callers are served in line order across the agents' queues (queue
        priority, then caller priority and join time); each is dispatched
        as usual, so that when several agents free up at once (a ring-all
        caller hung up) the best of them by the queue's strategy gets it.
        """
        free = list(recs)
        while True:
            best: tuple[int, tuple[int, float, int]] | None = None
            best_call: CallRecord | None = None
            for rec in free:
                if rec.state is not S.READY:
                    continue
                found = self._first_call_for(rec, now)
                if found is not None and (best is None or found[0] < best):
                    best, best_call = found
            if best_call is None:
                return
            before = len(call_offers := best_call.offers)
            self._dispatch_call(best_call, now, out)
            if len(call_offers) == before:
                return  # nobody could be reserved (held by another node)

    def _first_call_for(
        self, rec: AgentRecord, now: float
    ) -> tuple[tuple[int, tuple[int, float, int]], CallRecord] | None:
        """The first caller in line ``rec`` may take, with its line-order key."""
        best: tuple[int, tuple[int, float, int]] | None = None
        best_call: CallRecord | None = None
        for qid in rec.queues:
            index = self._ready.get(qid)
            if index is None or rec.id not in index:
                continue
            prio = -self._queues[qid].priority
            if best is not None and prio > best[0]:
                continue
            for call_id in self._waiting[qid]:
                call = self._calls[call_id]
                if not self._waits_for_agents(call, now) or self._excluded(call, rec.id, now):
                    continue
                candidate = (prio, call.key)
                if best is None or candidate < best:
                    best, best_call = candidate, call
                break
        if best is None or best_call is None:
            return None
        return best, best_call

    def _make_offer(
        self, call: CallRecord, rec: AgentRecord, now: float, out: list[Decision]
    ) -> None:
        cfg = self._queues.get(call.queue_id, call.cfg)
        devices = self._devices_for(rec, cfg)
        if not call.offers:
            call.rounds += 1
        self._offer_seq += 1
        offer_id = f"offer-{self._offer_seq}"
        # A callback's channel dials the agent and the customer and reports how
        # it went; the engine's ring timer only guards against a lost attempt.
        ring_time = CALLBACK_ATTEMPT_GUARD_S if call.is_callback else call.cfg.ring_time
        timer = self._deadlines.add("ring_timeout", offer_id, now + ring_time)
        offer = OfferRecord(
            id=offer_id,
            call_id=call.id,
            queue_id=call.queue_id,
            agent_id=rec.id,
            devices=devices,
            timer=timer,
        )
        self._offers[offer_id] = offer
        call.offers.add(offer_id)
        rec.offer_id = offer_id
        self._set_state(rec, next_state(rec.state, "reserve"), "offered", now, out)
        out.append(
            Ring(
                offer_id=offer_id,
                call_id=call.id,
                queue_id=call.queue_id,
                agent_id=rec.id,
                devices=devices,
                ring_time=call.cfg.ring_time,
                channel=call.channel,
            )
        )
        self._event(
            out,
            "offered",
            call,
            rec.id,
            now,
            offer_id=offer_id,
            devices=devices,
            round=call.rounds,
        )

    def _drop_offer(self, offer: OfferRecord, call: CallRecord) -> None:
        offer.timer.cancel()
        del self._offers[offer.id]
        call.offers.discard(offer.id)

    def _cancel_agent_offer(
        self, rec: AgentRecord, reason: str, now: float, out: list[Decision]
    ) -> None:
        """The agent withdraws while ringing; the caller keeps its place (D12)."""
        assert rec.offer_id is not None
        offer = self._offers[rec.offer_id]
        call = self._calls[offer.call_id]
        self._drop_offer(offer, call)
        rec.offer_id = None
        out.append(CancelRing(offer_id=offer.id, reason=reason))
        self._dispatch_call(call, now, out)

    def _fail_offer(self, offer: OfferRecord, reason: str, now: float, out: list[Decision]) -> None:
        call = self._calls[offer.call_id]
        rec = self._agents[offer.agent_id]
        self._drop_offer(offer, call)
        rec.offer_id = None
        call.tried[rec.id] = now + call.cfg.retry_after
        kind: QueueEventKind = "unreachable"
        if reason == "rejected":
            kind = "rejected"
        elif reason == "no_answer":
            kind = "no_answer"
        self._event(out, kind, call, rec.id, now, offer_id=offer.id)
        # D10: rejections and no-answers in a row; unreachable counted apart.
        if reason == "unreachable":
            rec.unreachable_in_a_row += 1
        else:
            rec.unanswered_in_a_row += 1
        # D12: the caller is still at its place in the waiting list. It rings
        # other agents first; the agent who failed is freed afterwards, so
        # that it serves the first caller in line it may take (FIFO).
        attempts = call.cfg.ring_attempts
        if not call.offers and attempts is not None and call.rounds >= attempts:
            self._leave(call, "overflowed", "ring_attempts", now, out)
        else:
            self._dispatch_call(call, now, out)
            if call.cfg.retry_after > 0:
                self._deadlines.add("retry", call.id, call.tried[rec.id])
        limit = call.cfg.auto_logout_after
        if limit is not None and rec.unanswered_in_a_row >= limit:
            self._logout(rec, "auto_logout", now, out)
        else:
            self._become_ready(rec, f"offer_{reason}", now, out, idle=False)
            self._serve_agent(rec, now, out)

    def _leave(
        self,
        call: CallRecord,
        kind: QueueEventKind,
        reason: str,
        now: float,
        out: list[Decision],
        **extra: object,
    ) -> None:
        """The caller leaves the queue unanswered (abandon, overflow, exit key)."""
        waiting = self._waiting[call.queue_id]
        position = waiting.position(call.key)
        waiting.remove(call.key)
        del self._calls[call.id]
        if call.max_wait_timer is not None:
            call.max_wait_timer.cancel()
        if call.expiry_timer is not None:
            call.expiry_timer.cancel()
        freed: list[AgentRecord] = []
        for offer_id in sorted(call.offers):
            offer = self._offers[offer_id]
            self._drop_offer(offer, call)
            out.append(CancelRing(offer_id=offer_id, reason=reason))
            rec = self._agents[offer.agent_id]
            rec.offer_id = None
            self._become_ready(rec, reason, now, out, idle=False)
            freed.append(rec)
        wait = now - call.joined_at
        if kind == "abandoned":
            self._event(out, kind, call, None, now, position=position, wait=wait)
        else:
            destination = call.cfg.overflow.get(reason)
            self._event(
                out,
                kind,
                call,
                None,
                now,
                reason=reason,
                destination=destination,
                position=position,
                wait=wait,
                **extra,
            )
            out.append(
                Overflow(
                    call_id=call.id,
                    queue_id=call.queue_id,
                    reason=reason,
                    destination=destination,
                )
            )
        self._serve_agents(freed, now, out)
