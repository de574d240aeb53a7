"""The JSON HTTP API for agents and supervisors (D1, S1).

GET  /api/queues                  every queue: waiting, longest wait, EWT, agents by state
GET  /api/queues/{id}/callers     the callers waiting in one queue, in order
GET  /api/agents/{id}/state       one agent's state
POST /api/agents/{id}/state       {"state": "ready"|"paused"|"logged_out",
                                   "reason": ..., "queues": [...]}
GET  /api/events                  server-sent events: agent states, queue events
POST /api/reload                  re-read the dial plan; 400 with the errors
GET  /api/media                   media legs, playing streams, ticker lateness (last minute)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from acd.domain import AcdError, AgentSnapshot, AgentState, QueueSnapshot

if TYPE_CHECKING:
    from acd.queues.service import QueueService

SSE_KEEPALIVE_S = 15.0


def queue_json(snap: QueueSnapshot) -> dict[str, Any]:
    return {
        "id": snap.queue_id,
        "waiting": len(snap.waiting),
        "longest_wait": round(snap.longest_wait, 3),
        "ewt": None if snap.ewt is None else round(snap.ewt, 3),
        "average_handle_time": round(snap.average_handle_time, 3),
        "agents": {state.value: list(ids) for state, ids in snap.agents.items()},
    }


def agent_json(snap: AgentSnapshot) -> dict[str, Any]:
    return {
        "id": snap.agent_id,
        "state": snap.state.value,
        "pause_reason": snap.pause_reason,
        "since": snap.since,
        "idle_since": snap.idle_since,
        "queues": sorted(snap.queues),
        "registered": sorted(snap.registered),
        "unanswered_in_a_row": snap.unanswered_in_a_row,
        "presence": "busy" if snap.presence_busy else "available",
    }


def build_app(service: QueueService) -> Starlette:
    engine = service.engine

    def queues_of() -> list[str]:
        return sorted(service.dialplan.queues) if service.dialplan is not None else []

    async def list_queues(request: Request) -> Response:
        now = service.now()
        return JSONResponse([queue_json(engine.queue_snapshot(q, now)) for q in queues_of()])

    async def queue_callers(request: Request) -> Response:
        queue_id = request.path_params["queue_id"]
        if queue_id not in queues_of():
            return JSONResponse({"error": f"no queue {queue_id!r}"}, status_code=404)
        snap = engine.queue_snapshot(queue_id, service.now())
        return JSONResponse(
            [
                {
                    "call_id": c.call_id,
                    "position": c.position,
                    "wait": round(c.wait, 3),
                    "priority": c.priority,
                    "ringing": c.ringing,
                }
                for c in snap.waiting
            ]
        )

    async def agent_state(request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        try:
            snap = engine.agent_snapshot(agent_id)
        except AcdError:
            return JSONResponse({"error": f"no agent {agent_id!r}"}, status_code=404)
        if request.method == "GET":
            return JSONResponse(agent_json(snap))
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        error = _change_state(service, agent_id, body)
        if error is not None:
            return JSONResponse({"error": error}, status_code=400)
        return JSONResponse(agent_json(engine.agent_snapshot(agent_id)))

    async def events(request: Request) -> Response:
        subscription = service.hub.subscribe()

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b": jono events\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(subscription.get(), SSE_KEEPALIVE_S)
                    except TimeoutError:
                        yield b": keepalive\n\n"
                        continue
                    yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
            finally:
                service.hub.unsubscribe(subscription)

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def reload(request: Request) -> Response:
        errors = service.server.reload()
        if errors:
            return JSONResponse({"ok": False, "errors": errors}, status_code=400)
        return JSONResponse({"ok": True, "errors": []})

    async def media(request: Request) -> Response:
        engine = service.server.media
        return JSONResponse({"legs": len(engine.legs), "ticker": engine.ticker.stats()})

    return Starlette(
        routes=[
            Route("/api/media", media),
            Route("/api/queues", list_queues),
            Route("/api/queues/{queue_id}/callers", queue_callers),
            Route("/api/agents/{agent_id}/state", agent_state, methods=["GET", "POST"]),
            Route("/api/events", events),
            Route("/api/reload", reload, methods=["POST"]),
        ]
    )


def _change_state(service: QueueService, agent_id: str, body: dict[str, Any]) -> str | None:
    """Apply ``{"state": ..., "reason": ..., "queues": [...]}``; an error text or None."""
    state = body.get("state")
    engine = service.engine
    presence = body.get("presence")
    if presence is not None:
        if presence not in ("busy", "available"):
            return f"presence {presence!r} must be busy or available"
        busy = presence == "busy"
        service.run(lambda now: engine.agent_presence(agent_id, busy, now))
        if state is None:
            return None
    queues = body.get("queues")
    if queues is not None and (
        not isinstance(queues, list) or not all(isinstance(q, str) for q in queues)
    ):
        return "queues must be a list of queue names"
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        return "reason must be a string"
    current = engine.agent_snapshot(agent_id).state
    if state == AgentState.READY.value:
        ok = True
        if current is AgentState.LOGGED_OUT or queues is not None:
            service.sync_registration(agent_id)
            ok = service.run(lambda now: engine.agent_login(agent_id, queues, now))
        if ok and current is not AgentState.LOGGED_OUT:
            ok = service.run(lambda now: engine.agent_ready(agent_id, now))
    elif state == AgentState.PAUSED.value:
        ok = service.run(lambda now: engine.agent_pause(agent_id, reason or "paused", now))
    elif state == AgentState.LOGGED_OUT.value:
        ok = service.run(lambda now: engine.agent_logout(agent_id, now, queues, reason or "logout"))
    else:
        return f"state {state!r} must be one of ready, paused, logged_out"
    return None if ok else f"agent {agent_id!r} cannot go {state} now"
