"""The pages' live views: one JSON view per agent and per queue, kept current
from the event hub (the desktop and the wallboard render nothing else).

Theory of operation
-------------------
The engine's events (queue steps, agent states), the agent commands'
``agent_settings`` and the call-outs' ``callout`` events arrive on the hub.
:class:`LiveView` listens to them: each marks the agents and queues it
touches dirty (an agent's state changes its queues' "agents by state" and
EWT). Once the burst is over (``call_soon``) every dirty view is built once
and published on the same hub as an ``agent`` or ``queue`` event, stamped
with the time of the earliest change it carries (``at``: the engine's
decision time, for delivery latency). Views are only built while someone
listens; a page that connects (or reconnects) starts from :meth:`snapshot`.

An agent view joins three sources: the engine (state, since, queues,
presence), the voice channel (the queue call offered or taken: queue,
caller, wait, digits collected in menus) and the call registry (any other
call the agent is on: direct, internal, outbound), plus the agent's
call-out (O2) and today's count of calls handled.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from acd.calls.call import Call
from acd.calls.registry import CallRegistry
from acd.contact.call_control import CallControl
from acd.contact.callout import Callouts
from acd.contact.centre import ContactCentre
from acd.contact.channels.voice import QueuedCaller, VoiceChannel
from acd.domain import AcdError, AgentSnapshot, AgentState
from acd.web.access import Visibility
from acd.web.today import Today

AGENT_EVENTS = ("agent_state", "logged_out", "agent_settings", "callout", "call_control")


class LiveView:
    def __init__(
        self,
        centre: ContactCentre,
        registry: CallRegistry[Call],
        voice: VoiceChannel,
        callouts: Callouts,
        today: Today,
        control: CallControl | None = None,
    ) -> None:
        self.control = control
        self.centre = centre
        self.registry = registry
        self.voice = voice
        self.callouts = callouts
        self.today = today
        self._dirty_agents: dict[str, float] = {}
        self._dirty_queues: dict[str, float] = {}
        self._flush: asyncio.Handle | None = None
        self._wrap_up: dict[str, float] = {}  # agent -> seconds of the wrap-up they are in
        self._members: dict[str, list[str]] = {}
        self._members_of_plan: int | None = None
        # The latest published view of each agent and queue, with its JSON (encoded once).
        self._cache: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        self._cache_plan: int | None = None
        centre.hub.add_listener(self._on_event)

    # -- views ---------------------------------------------------------------------
    def agent_view(self, agent: str, at: float | None = None) -> dict[str, Any] | None:
        try:
            snap = self.centre.engine.agent_snapshot(agent)
        except AcdError:
            return None
        plan = self.centre.plan
        now = self.centre.now()
        conf = plan.users.get(agent) if plan is not None else None
        callout = self.callouts.current(agent)
        wrap_until = None
        if snap.state is AgentState.WRAP_UP and agent in self._wrap_up:
            wrap_until = snap.since + self._wrap_up[agent]
        return {
            "type": "agent",
            "agent": agent,
            "name": (conf.display_name if conf is not None else None) or agent,
            "extension": conf.extension if conf is not None else None,
            "state": snap.state.value,
            "since": snap.since,
            "pause_reason": snap.pause_reason,
            "presence": "busy" if snap.presence_busy else "available",
            "queues": sorted(snap.queues),
            "member_of": self._member_of(agent),
            "registered": bool(snap.registered),
            # A registered phone, or a fixed or mobile device (always tried): calls reach them.
            "reachable": bool(snap.registered) or (conf is not None and any(
                d.kind in ("static", "mobile") for d in conf.devices)),
            "call_kind": snap.call_kind,
            "offer": self._offer(snap),
            "call": self._call(snap),
            "callout": callout.view() if callout is not None else None,
            # O7: hold, recording, consultation and the last step on the agent's call.
            "control": self.control.view(agent) if self.control is not None else None,
            "wrap_up_until": wrap_until,
            "handled_today": self.today.agent(agent, now),
            "at": now if at is None else at,
        }

    def queue_view(self, queue: str, at: float | None = None) -> dict[str, Any] | None:
        now = self.centre.now()
        try:
            snap = self.centre.engine.queue_snapshot(queue, now)
        except AcdError:
            return None
        callers = []
        for waiting in snap.waiting:
            caller = self.voice.callers.get(waiting.call_id)
            callers.append({
                "call_id": waiting.call_id,
                "position": waiting.position,
                "since": waiting.joined_at,
                "number": caller.session.caller_number if caller is not None else None,
                "ringing": waiting.ringing > 0,
            })
        return {
            "type": "queue",
            "queue": queue,
            "waiting": len(callers),
            "callers": callers,
            "longest_wait": round(snap.longest_wait, 3),
            "ewt": None if snap.ewt is None else round(snap.ewt, 3),
            "agents": {state.value: list(ids) for state, ids in snap.agents.items()},
            "today": self.today.queue(queue, now),
            "at": now if at is None else at,
        }

    def snapshot(self, vis: Visibility) -> dict[str, Any]:
        """Everything ``vis`` may see, as of now: where a page starts or catches up."""
        parsed: dict[str, Any] = json.loads(self.snapshot_json(vis))
        return parsed

    def snapshot_json(self, vis: Visibility) -> str:
        """:meth:`snapshot` as JSON text, joined from each view's JSON as it was
        last published (encoded once), built afresh only where it changed since."""
        plan = self.centre.plan
        if self._cache_plan != id(plan):  # a reload: names and members may have changed
            self._cache.clear()
            self._cache_plan = id(plan)
        queues = sorted(plan.queues) if plan is not None else []
        agents = sorted(plan.users) if plan is not None else []
        desktop = plan.server.desktop if plan is not None else None
        queue_parts = [j for q in queues if vis.sees_queue(q) and (j := self._json("queue", q))]
        agent_parts = [j for a in agents if vis.sees_agent(a) and (j := self._json("agent", a))]
        head = {
            "type": "snapshot", "now": self.centre.now(),
            "pause_reasons": list(desktop.pause_reasons) if desktop is not None else [],
            "service_level": desktop.service_level if desktop is not None else None,
        }
        return (
            json.dumps(head, separators=(",", ":"))[:-1]
            + ',"queues":[' + ",".join(queue_parts) + '],"agents":[' + ",".join(agent_parts)
            + "]}"
        )

    def json_of(self, event: dict[str, Any]) -> str | None:
        """The JSON of a view this object published (identity), else None."""
        key = (str(event.get("type")), str(event.get(event.get("type") or "", "")))
        hit = self._cache.get(key)
        return hit[1] if hit is not None and hit[0] is event else None

    def _json(self, kind: str, key: str) -> str | None:
        dirty = self._dirty_agents if kind == "agent" else self._dirty_queues
        hit = self._cache.get((kind, key))
        if hit is not None and key not in dirty:
            return hit[1]
        view = self.agent_view(key) if kind == "agent" else self.queue_view(key)
        if view is None:
            return None
        return self._remember(kind, key, view)

    def _remember(self, kind: str, key: str, view: dict[str, Any]) -> str:
        text = json.dumps(view, separators=(",", ":"))
        self._cache[(kind, key)] = (view, text)
        return text

    # -- parts of an agent view ---------------------------------------------------------
    def _member_of(self, agent: str) -> list[str]:
        plan = self.centre.plan
        if plan is None:
            return []
        if self._members_of_plan != id(plan):
            self._members = {}
            for name, queue in plan.queues.items():
                for member in queue.members:
                    self._members.setdefault(member, []).append(name)
            self._members_of_plan = id(plan)
        return self._members.get(agent, [])

    def _offer(self, snap: AgentSnapshot) -> dict[str, Any] | None:
        if snap.state is not AgentState.RESERVED or snap.offer_id is None:
            return None
        offer = self.voice.offers.get(snap.offer_id)
        if offer is None:
            return None
        caller = offer.caller
        return {
            "call_id": caller.call_id,
            "queue": caller.queue_id,
            "number": caller.session.caller_number,
            "name": caller.session.caller.display,
            "waiting_since": self._joined_at(caller),
            "digits": dict(caller.session.variables),
        }

    def _joined_at(self, caller: QueuedCaller) -> float | None:
        snap = self.centre.engine.queue_snapshot(caller.queue_id, self.centre.now())
        return next((w.joined_at for w in snap.waiting if w.call_id == caller.call_id), None)

    def _call(self, snap: AgentSnapshot) -> dict[str, Any] | None:
        if snap.call_id is not None:
            caller = self.voice.callers.get(snap.call_id)
            if caller is not None:
                return {
                    "call_id": caller.call_id, "kind": "queue", "direction": "inbound",
                    "queue": caller.queue_id, "number": caller.session.caller_number,
                    "name": caller.session.caller.display, "since": snap.since,
                    "digits": dict(caller.session.variables),
                }
        for call in self.registry.of_user(snap.agent_id):
            return _call_view(call, snap.agent_id)
        return None

    # -- events --------------------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "queue_event":
            self._count(event)
        elif kind == "callout":
            self._callout_event(str(event.get("agent")), event)
        elif kind not in AGENT_EVENTS:
            return
        if not self.centre.hub.subscribers:
            # Nobody watches: no view is built (the call path pays only the counting),
            # and none kept is current any more.
            if self._cache:
                self._cache.clear()
            return
        at = float(event.get("at") or self.centre.now())
        if kind == "queue_event":
            queue, agent = event.get("queue"), event.get("agent")
            if isinstance(queue, str):
                self._mark(self._dirty_queues, queue, at)
            if isinstance(agent, str):
                self._mark(self._dirty_agents, agent, at)
            return
        agent = str(event.get("agent"))
        self._mark(self._dirty_agents, agent, at)
        for queue in self._member_of(agent):
            self._mark(self._dirty_queues, queue, at)
        if kind == "agent_state":
            # Someone joining my call changes my call's view too (who talks,
            # O6 between agents): the other users on it are drawn again.
            for call in self.registry.of_user(agent):
                for party in call.parties:
                    if party.user is not None and party.user != agent:
                        self._mark(self._dirty_agents, party.user, at)

    def _count(self, event: dict[str, Any]) -> None:
        """Today's figures, and which wrap-up an agent who answered will be in."""
        queue, agent = event.get("queue"), event.get("agent")
        step = str(event.get("kind"))
        data = event.get("data") or {}
        wait = data.get("wait") if isinstance(data, dict) else None
        at = float(event.get("at") or self.centre.now())
        self.today.add(step, queue, agent, wait if isinstance(wait, int | float) else None, at)
        plan = self.centre.plan
        if step == "answered" and isinstance(agent, str) and isinstance(queue, str) and plan:
            conf = plan.queues.get(queue)
            self._wrap_up[agent] = float(conf.wrap_up) if conf is not None else 0.0

    def _callout_event(self, agent: str, event: dict[str, Any]) -> None:
        if event.get("status") == "talking":
            self.today.handled_call(agent, float(event.get("at") or self.centre.now()))
        wrap_up = event.get("wrap_up")
        if event.get("status") == "ended" and isinstance(wrap_up, int | float) and wrap_up > 0:
            self._wrap_up[agent] = float(wrap_up)

    def _mark(self, dirty: dict[str, float], key: str, at: float) -> None:
        dirty[key] = min(at, dirty.get(key, at))
        if self._flush is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._flush = loop.call_soon(self.flush)

    def flush(self) -> None:
        """Publish the views that changed (only built while someone listens)."""
        self._flush = None
        agents, self._dirty_agents = self._dirty_agents, {}
        queues, self._dirty_queues = self._dirty_queues, {}
        hub = self.centre.hub
        if hub.subscribers == 0:
            for agent in agents:
                self._cache.pop(("agent", agent), None)
            for queue in queues:
                self._cache.pop(("queue", queue), None)
            return
        for agent, at in agents.items():
            view = self.agent_view(agent, at)
            if view is not None:
                self._remember("agent", agent, view)
                hub.publish(view)
        for queue, at in queues.items():
            qview = self.queue_view(queue, at)
            if qview is not None:
                self._remember("queue", queue, qview)
                hub.publish(qview)


def _call_view(call: Call, agent: str) -> dict[str, Any]:
    """A call the ACD did not offer, as the agent on it sees it."""
    mine = call.caller.user == agent
    if mine:
        number = call.callee.split(":", 1)[-1].split("@", 1)[0]
        name = None
        if call.peer is not None and call.peer.user is not None:
            name = call.peer.user
    else:
        number, name = call.caller_number, None
    since = call.answered_at or call.started_at
    return {
        "call_id": call.id, "kind": call.kind, "direction": "outbound" if mine else "inbound",
        "queue": None, "number": number, "name": name, "since": _ts(since),
        "digits": dict(call.variables), "talking": call.peer is not None,
    }


def _ts(when: datetime) -> float:
    return when.timestamp()

