"""Agents' state: read it, change it (D1, D8, D9, D11)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from acd.domain import AcdError, AgentSnapshot
from acd.web.services import WebServices


def agent_json(snap: AgentSnapshot) -> dict[str, Any]:
    return {
        "id": snap.agent_id,
        "state": snap.state.value,
        "call_kind": snap.call_kind,
        "pause_reason": snap.pause_reason,
        "since": snap.since,
        "idle_since": snap.idle_since,
        "queues": sorted(snap.queues),
        "registered": sorted(snap.registered),
        "unanswered_in_a_row": snap.unanswered_in_a_row,
        "presence": "busy" if snap.presence_busy else "available",
    }


def state_change_error(body: dict[str, Any]) -> str | None:
    """What is wrong with a state-change body, or None."""
    presence = body.get("presence")
    if presence is not None and presence not in ("busy", "available"):
        return f"presence {presence!r} must be busy or available"
    queues = body.get("queues")
    if queues is not None and (
        not isinstance(queues, list) or not all(isinstance(q, str) for q in queues)
    ):
        return "queues must be a list of queue names"
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        return "reason must be a string"
    return None


def routes(services: WebServices) -> list[Route]:
    engine = services.centre.engine
    commands = services.commands

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
        error = state_change_error(body)
        if error is None and body.get("presence") is not None:
            error = commands.presence(agent_id, body["presence"] == "busy")
        if error is None and (body.get("state") is not None or body.get("presence") is None):
            error = commands.set_state(
                agent_id, str(body.get("state")), reason=body.get("reason"),
                queues=body.get("queues"),
            )
        if error is not None:
            return JSONResponse({"error": error}, status_code=400)
        return JSONResponse(agent_json(engine.agent_snapshot(agent_id)))

    return [Route("/api/agents/{agent_id}/state", agent_state, methods=["GET", "POST"])]
