"""QueueService: runs the pure ACD engine (acd.domain) against real calls.

Theory of operation
-------------------
One :class:`~acd.domain.AcdEngine` per process. Every input (a caller joins
or leaves, an agent's device answers or fails, a feature code, an API call,
a timer) becomes one engine call; its decisions are carried out in order by
:meth:`QueueService.apply`, which also queues decisions produced while it
runs (no re-entrant engine calls). A single loop timer is armed at
``engine.next_deadline()`` and calls ``engine.tick()``.

Registrations are mirrored into the engine (``device_registered``) by a
one-second sync and right before a login, so an agent without a registered
phone is never offered a call it cannot get (D7).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from acd.domain import (
    AcdEngine,
    AcdError,
    AgentStateChanged,
    Bridge,
    CancelRing,
    Decision,
    LoggedOut,
    Overflow,
    QueueEvent,
    Ring,
)
from acd.flows.session import CallerSession
from acd.queues.caller import QueuedCall
from acd.queues.events import EventHub, event_json, store_row
from acd.queues.features import FeatureCodes
from acd.queues.mapping import REGISTERED, engine_config
from acd.queues.offers import AgentDevices, AgentOffer

if TYPE_CHECKING:
    from acd.access import Caller
    from acd.server import JonoServer
    from acd.web.http import HttpServer
    from sip.message import Request
    from sip.transport import Target

log = logging.getLogger("jono.queues")

REGISTRATION_SYNC_S = 1.0


class QueueService:
    def __init__(self, server: JonoServer, *, http: bool = True) -> None:
        self.server = server
        self.engine = AcdEngine()
        self.hub = EventHub()
        self.devices = AgentDevices(self)
        self.features = FeatureCodes(self)
        self.calls: dict[str, QueuedCall] = {}
        self.offers: dict[str, AgentOffer] = {}
        self.dialplan: Any = None
        self.http: HttpServer | None = None
        self._want_http = http
        self._registered: dict[str, bool] = {}
        self._phone_agents: set[str] = set()
        self._pending: deque[Decision] = deque()
        self._applying = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sync_task: asyncio.Task[None] | None = None

    @staticmethod
    def now() -> float:
        return time.time()

    # -- hooks the server calls ---------------------------------------------
    def configure(self, dialplan: Any) -> None:
        """Apply a (new) dial plan: queues, members, agents' devices."""
        queues, agents = engine_config(dialplan)
        self.dialplan = dialplan
        # Agents with a registered-phone device: the ones sync_registration watches.
        self._phone_agents = {
            name for name, agent in agents.items()
            if any(d.id == REGISTERED for d in agent.devices)
        }
        self.run(lambda now: self.engine.configure(queues, agents, now))

    async def start(self) -> None:
        """Start the registration sync and the HTTP API."""
        self._sync_task = asyncio.get_running_loop().create_task(self._sync_loop())
        if self._want_http and self.dialplan is not None:
            from acd.web.http import HttpServer

            server = self.dialplan.server
            self.http = HttpServer(self, server.http_host, server.http_port)
            await self.http.start()

    async def close(self) -> None:
        """Stop timers and the HTTP API."""
        if self._sync_task is not None:
            self._sync_task.cancel()
        if self._timer is not None:
            self._timer.cancel()
        if self.http is not None:
            await self.http.close()

    def feature_code(
        self, request: Request, txn: object, source: Target, caller: Caller, dialled: str
    ) -> bool:
        """Handle an agent's feature code (*21 log in, ...); True when handled."""
        return self.features.handle(request, txn, source, caller, dialled)

    async def run_caller(self, session: CallerSession, queue_id: str) -> Any:
        """Keep the caller in ``queue_id`` until an agent answers or they overflow.

        Returns the next destination (overflow) or None when the call is over.
        """
        settings = self.dialplan.queues.get(queue_id) if self.dialplan is not None else None
        if settings is None:
            # S4: a deleted queue gets a clear answer, not silence.
            session.reject(404, "Not In Service")
            return None
        call = QueuedCall(self, session, queue_id, settings)
        return await call.run()

    # -- engine inputs --------------------------------------------------------
    def run(self, step: Callable[[float], Iterable[Decision]]) -> bool:
        """Feed one input to the engine and carry out its decisions."""
        try:
            decisions = list(step(self.now()))
        except AcdError as err:
            log.info("acd refused: %s", err)
            return False
        self.apply(decisions)
        return True

    def join(self, call: QueuedCall) -> None:
        self.calls[call.call_id] = call
        call.in_engine = True
        if not self.run(lambda now: self.engine.caller_joined(call.call_id, call.queue_id, now)):
            call.in_engine = False
            call.overflow(None)

    def caller_gone(self, call: QueuedCall) -> None:
        self.calls.pop(call.call_id, None)
        if call.in_engine:
            call.in_engine = False
            self.run(lambda now: self.engine.caller_left(call.call_id, now))

    def pressed(self, call: QueuedCall, digit: str) -> None:
        if call.in_engine:
            self.run(lambda now: self.engine.caller_pressed(call.call_id, digit, now))

    def offer_answered(self, offer: AgentOffer, device: str) -> None:
        self.run(lambda now: self.engine.offer_answered(offer.id, device, now))

    def offer_failed(self, offer: AgentOffer, reason: str) -> None:
        if self.offers.pop(offer.id, None) is None:
            return
        self.run(lambda now: self.engine.offer_failed(offer.id, None, reason, now))

    def sync_registration(self, agent_id: str, now: float | None = None) -> None:
        """Mirror whether the agent has a registered phone into the engine."""
        if agent_id not in self._phone_agents:
            return
        has = self.devices.has_registration(agent_id, now or self.now())
        if self._registered.get(agent_id) == has:
            return
        self._registered[agent_id] = has
        if has:
            self.run(lambda t: self.engine.device_registered(agent_id, REGISTERED, t))
        else:
            self.run(lambda t: self.engine.device_unregistered(agent_id, REGISTERED, t))

    async def _sync_loop(self) -> None:
        while True:
            try:
                now = self.now()
                for agent_id in list(self._phone_agents):
                    self.sync_registration(agent_id, now)
            except Exception:
                log.exception("registration sync failed")
            await asyncio.sleep(REGISTRATION_SYNC_S)

    # -- decisions --------------------------------------------------------------
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
                    log.exception("acd decision %r failed", decision)
        finally:
            self._applying = False
        self._arm()

    def _perform(self, d: Decision) -> None:
        if isinstance(d, Ring):
            call = self.calls.get(d.call_id)
            if call is None:
                return
            offer = AgentOffer(self, d, call)
            self.offers[d.offer_id] = offer
            offer.start()
        elif isinstance(d, CancelRing):
            cancelled = self.offers.pop(d.offer_id, None)
            if cancelled is not None:
                cancelled.cancel()
        elif isinstance(d, Bridge):
            answered = self.offers.pop(d.offer_id, None)
            call = self.calls.get(d.call_id)
            if answered is not None and call is not None:
                call.bridge(answered)
        elif isinstance(d, Overflow):
            call = self.calls.get(d.call_id)
            if call is not None:
                call.overflow(d.destination)
        elif isinstance(d, QueueEvent | AgentStateChanged):
            self.server.store.add_queue_event(**store_row(d))
            self.hub.publish(event_json(d))
        elif isinstance(d, LoggedOut):
            log.info("agent %s logged out: %s", d.agent_id, d.reason)
            self.hub.publish(event_json(d))

    # -- the one timer -------------------------------------------------------------
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
            return  # configured before the loop runs: armed on the next input
        self._timer = loop.call_later(max(0.0, at - self.now()), self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._timer_at = None
        self.run(lambda now: self.engine.tick(now))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

