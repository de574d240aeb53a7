"""The contact centre: runs the pure ACD engine (acd.domain) against real work.

Theory of operation
-------------------
One :class:`~acd.domain.AcdEngine` per process, built by the composition
root. Every input (a caller joins or leaves, an agent's device answers or
fails, a feature code, an API call, a timer, a user starting or ending a
direct call) becomes one engine call; its decisions are carried out in
order by :meth:`ContactCentre.apply`, which also queues decisions produced
while it runs (no re-entrant engine calls). A single loop timer is armed at
``engine.next_deadline()`` and calls ``engine.tick()``.

Decisions about a piece of work (ring an agent, stop ringing, connect,
overflow) go to the channel that brought the work in (:class:`Channel`:
voice today, callback and chat next); queue events and agent state changes
go to the store and to the live event hub.

Registrations are mirrored into the engine (``device_registered``) by a
one-second sync and right before a login, so an agent without a registered
phone is never offered a call it cannot get (D7). Calls the engine did not
offer (direct, internal, outbound) reach it through the call registry's
:class:`~acd.calls.registry.UserActivity` (D11 on call internal/outbound).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from typing import Protocol

import structlog

from acd.clock import Clock
from acd.config import Dialplan
from acd.contact.events import EventHub, event_json, store_row
from acd.contact.mapping import BROWSER, REGISTERED, engine_config
from acd.domain import (
    CALL_KINDS,
    AcdEngine,
    AcdError,
    AgentStateChanged,
    Bridge,
    CallKind,
    CancelRing,
    Decision,
    LoggedOut,
    Overflow,
    QueueEvent,
    Ring,
    WorkItem,
)
from acd.telephony.directory import DeviceDirectory

log = structlog.stdlib.get_logger("jono.acd")

REGISTRATION_SYNC_S = 1.0
_CALL_KINDS: dict[str, CallKind] = {kind: kind for kind in CALL_KINDS}
LOGGED_DATA = ("position", "wait", "reason", "destination", "offer_id", "device_id")


class Channel(Protocol):
    """A channel's side of the decisions about its work (acd.contact.channels)."""

    def ring(self, ring: Ring) -> None: ...

    def cancel_ring(self, cancel: CancelRing) -> None: ...

    def bridge(self, bridge: Bridge) -> None: ...

    def overflow(self, overflow: Overflow) -> None: ...


class QueueEventSink(Protocol):
    def add_queue_event(self, **fields: object) -> None: ...


class ContactCentre:
    def __init__(
        self,
        engine: AcdEngine,
        *,
        clock: Clock,
        records: QueueEventSink,
        hub: EventHub | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.records = records
        self.hub = hub or EventHub()
        self.plan: Dialplan | None = None
        self.directory: DeviceDirectory | None = None
        self._work: dict[str, Channel] = {}  # call id -> the channel it came by
        self._offers: dict[str, Channel] = {}  # offer id -> channel
        self._registered: dict[tuple[str, str], bool] = {}
        # Agent -> its devices that register (reg, browser): what sync_registration watches.
        self._phone_agents: dict[str, tuple[str, ...]] = {}
        self._pending: deque[Decision] = deque()
        self._applying = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._sync_task: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self.clock.now()

    # -- configuration and lifecycle -------------------------------------------
    def configure(self, plan: Dialplan, directory: DeviceDirectory) -> None:
        """Apply a (new) dial plan: queues, members, agents' devices."""
        queues, agents = engine_config(plan)
        self.plan = plan
        self.directory = directory
        # Agents with a registered-phone device: the ones sync_registration watches.
        self._phone_agents = {
            name: ids for name, agent in agents.items()
            if (ids := tuple(d.id for d in agent.devices if d.id in (REGISTERED, BROWSER)))
        }
        self.run(lambda now: self.engine.configure(queues, agents, now))

    def start(self) -> None:
        self._sync_task = asyncio.get_running_loop().create_task(self._sync_loop())
        self._arm()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        task, self._sync_task = self._sync_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def is_agent(self, user: str) -> bool:
        return self.plan is not None and user in self.plan.users

    # -- engine inputs -----------------------------------------------------------
    def run(self, step: Callable[[float], Iterable[Decision]]) -> bool:
        """Feed one input to the engine and carry out its decisions."""
        try:
            decisions = list(step(self.now()))
        except AcdError as err:
            log.info("acd refused", error=str(err))
            return False
        if decisions:
            self.apply(decisions)
        elif not self._applying:
            self._arm()  # a tick that fired a timer for nothing still moves the next one
        return True

    def join(self, call_id: str, queue_id: str, channel: Channel, priority: int = 0) -> bool:
        """A caller enters a queue; False when the engine refused it."""
        return self.join_work(
            call_id, channel, lambda now: self.engine.caller_joined(call_id, queue_id, now, priority)
        )

    def join_work(
        self, work_id: str, channel: Channel, step: Callable[[float], Iterable[Decision]]
    ) -> bool:
        """Work of ``channel`` enters the engine by ``step``; False when refused."""
        self._work[work_id] = channel
        ok = self.run(step)
        if not ok:
            self._work.pop(work_id, None)
        return ok

    def work_over(self, work_id: str) -> None:
        """The channel closed this work itself (the engine was told)."""
        self._work.pop(work_id, None)

    def leave(self, call_id: str) -> None:
        """The work is over (a caller hung up, or its call ended)."""
        if self._work.pop(call_id, None) is not None:
            self.run(lambda now: self.engine.caller_left(call_id, now))

    def pressed(self, call_id: str, digit: str) -> None:
        if call_id in self._work:
            self.run(lambda now: self.engine.caller_pressed(call_id, digit, now))

    def offer_answered(self, offer_id: str, device: str) -> None:
        self.run(lambda now: self.engine.offer_answered(offer_id, device, now))

    def offer_failed(self, offer_id: str, reason: str) -> None:
        if self._offers.pop(offer_id, None) is None:
            return
        self.run(lambda now: self.engine.offer_failed(offer_id, None, reason, now))

    # -- acd.calls.registry.UserActivity: calls the engine did not offer --------------
    def engaged(self, user: str, call_id: str, kind: str) -> None:
        call_kind = _CALL_KINDS.get(kind)
        if call_kind is not None and self.is_agent(user):
            item = WorkItem(id=call_id, kind=call_kind)
            self.run(lambda now: self.engine.agent_engaged(user, item, now))

    def released(self, user: str, call_id: str, wrap_up: float = 0.0) -> None:
        """``wrap_up``: seconds of wrap-up after this work (O5: desktop call-outs)."""
        if self.is_agent(user):
            self.run(lambda now: self.engine.agent_released(user, call_id, now, wrap_up))

    # -- registrations (D7) -------------------------------------------------------------
    def sync_registration(self, agent_id: str) -> None:
        """Mirror whether the agent's phones (and browser phone) are registered into the engine."""
        devices = self._phone_agents.get(agent_id)
        if not devices or self.directory is None:
            return
        for device in devices:
            has = self.directory.has_registration(agent_id, device)
            if self._registered.get((agent_id, device)) == has:
                continue
            self._registered[(agent_id, device)] = has
            if has:
                self.run(partial(self.engine.device_registered, agent_id, device))
            else:
                self.run(partial(self.engine.device_unregistered, agent_id, device))

    async def _sync_loop(self) -> None:
        while True:
            try:
                for agent_id in list(self._phone_agents):
                    self.sync_registration(agent_id)
            except Exception:
                log.exception("registration sync failed")
            await asyncio.sleep(REGISTRATION_SYNC_S)

    # -- decisions ---------------------------------------------------------------------
    def apply(self, decisions: Iterable[Decision]) -> None:
        self._pending.extend(decisions)
        if self._applying:
            return
        self._applying = True
        try:
            while self._pending:
                decision = self._pending.popleft()
                try:
                    self._perform(decision)
                except Exception:
                    log.exception("acd decision failed", decision=repr(decision))
        finally:
            self._applying = False
        self._arm()

    def _perform(self, d: Decision) -> None:
        if isinstance(d, Ring):
            channel = self._work.get(d.call_id)
            if channel is not None:
                self._offers[d.offer_id] = channel
                channel.ring(d)
        elif isinstance(d, CancelRing):
            channel = self._offers.pop(d.offer_id, None)
            if channel is not None:
                channel.cancel_ring(d)
        elif isinstance(d, Bridge):
            channel = self._work.get(d.call_id)
            self._offers.pop(d.offer_id, None)
            if channel is not None:
                channel.bridge(d)
        elif isinstance(d, Overflow):
            channel = self._work.pop(d.call_id, None)
            if channel is not None:
                channel.overflow(d)
        elif isinstance(d, QueueEvent | AgentStateChanged):
            self.records.add_queue_event(**store_row(d))
            self.hub.publish(event_json(d))
            if isinstance(d, QueueEvent):
                log.info(
                    "queue event", kind=d.kind, queue=d.queue_id, call_id=d.call_id,
                    agent=d.agent_id, **{k: v for k, v in d.data.items() if k in LOGGED_DATA},
                )
            else:
                log.info(
                    "agent state", agent=d.agent_id, old=d.old.value, new=d.new.value,
                    reason=d.reason,
                )
        elif isinstance(d, LoggedOut):
            log.info("agent logged out by the acd", agent=d.agent_id, reason=d.reason)
            self.hub.publish(event_json(d))

    # -- the one timer --------------------------------------------------------------------
    def _arm(self) -> None:
        at = self.engine.next_deadline()
        if at is not None and at == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # configured before the loop runs: armed on start
        self._timer = loop.call_later(max(0.0, at - self.now()), self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._timer_at = None
        self.run(lambda now: self.engine.tick(now))
