"""Queue events and agent state changes: to the store (S2) and to live
subscribers (the ``/api/events`` server-sent events, S1).

Event types on the hub: ``queue_event``, ``agent_state`` and ``logged_out``
(the engine's), ``agent_settings`` (queues or presence changed by a
command), ``callout`` (a desktop call-out's status, O2); the web workplace
adds its page views, ``agent`` and ``queue``."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from acd.domain import AgentStateChanged, LoggedOut, QueueEvent

log = structlog.stdlib.get_logger("jono.acd")

SUBSCRIBER_BACKLOG = 1000


def event_json(decision: QueueEvent | AgentStateChanged | LoggedOut) -> dict[str, Any]:
    """A JSON-ready view of one event, as ``/api/events`` sends it."""
    if isinstance(decision, QueueEvent):
        return {
            "type": "queue_event",
            "kind": decision.kind,
            "queue": decision.queue_id,
            "call_id": decision.call_id,
            "agent": decision.agent_id,
            "at": decision.at,
            "data": {k: _plain(v) for k, v in decision.data.items()},
        }
    if isinstance(decision, AgentStateChanged):
        return {
            "type": "agent_state",
            "agent": decision.agent_id,
            "old": decision.old.value,
            "new": decision.new.value,
            "reason": decision.reason,
            "at": decision.at,
        }
    return {
        "type": "logged_out",
        "agent": decision.agent_id,
        "reason": decision.reason,
        "at": decision.at,
    }


def _plain(value: object) -> object:
    if isinstance(value, tuple | list | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def store_row(decision: QueueEvent | AgentStateChanged) -> dict[str, Any]:
    """Columns of :class:`acd.store.QueueEventRow` for one event."""
    at = datetime.fromtimestamp(decision.at, UTC)
    if isinstance(decision, AgentStateChanged):
        return {
            "at": at,
            "kind": "agent_state",
            "queue_id": None,
            "call_id": None,
            "agent_id": decision.agent_id,
            "wait": None,
            "position": None,
            "reason": decision.reason,
            "detail": json.dumps({"old": decision.old.value, "new": decision.new.value}),
        }
    data = dict(decision.data)
    wait = data.pop("wait", None)
    position = data.pop("position", None)
    reason = data.pop("reason", None)
    return {
        "at": at,
        "kind": decision.kind,
        "queue_id": decision.queue_id,
        "call_id": decision.call_id,
        "agent_id": decision.agent_id,
        "wait": float(wait) if isinstance(wait, int | float) else None,
        "position": int(position) if isinstance(position, int) else None,
        "reason": str(reason) if reason is not None else None,
        "detail": json.dumps({k: _plain(v) for k, v in data.items()}) if data else None,
    }


class EventHub:
    """Fan-out of event dicts to SSE subscribers; a slow one loses old events.

    Listeners (``add_listener``) see every event synchronously, before the
    subscribers, and may publish more: those go out after the event that
    caused them, in order (the web workplace derives its page views this way).
    """

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._outbox: deque[dict[str, Any]] = deque()
        self._publishing = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=SUBSCRIBER_BACKLOG)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(q)

    def add_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def publish(self, event: dict[str, Any]) -> None:
        self._outbox.append(event)
        if self._publishing:
            return
        self._publishing = True
        try:
            while self._outbox:
                self._deliver(self._outbox.popleft())
        finally:
            self._publishing = False

    def _deliver(self, event: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed", type=event.get("type"))
        for q in self._subscribers:
            if q.full():
                q.get_nowait()
            q.put_nowait(event)
