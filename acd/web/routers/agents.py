"""Agents' state: read it, change it (D1, D8, D9, D11).

``POST /api/agents/{id}/state`` takes any of: ``state`` (ready, paused,
logged_out) with ``reason`` (a configured pause reason) and ``queues``
(ready: log in to these; logged_out: out of these), ``login`` / ``logout``
(queues to join or leave, the state otherwise unchanged), ``presence``
(busy, available).

Who may change what (acd.web.auth.policy): an agent their own state; a
supervisor the agents of the queues they supervise, and only those queues
(a supervisor's "log out" without queues logs the agent out of the queues
the supervisor supervises); an admin anyone.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from acd.domain import AcdError, AgentSnapshot, AgentState
from acd.web.access import member_queues, visibility
from acd.web.auth import allow, principal
from acd.web.auth.policy import Principal, may_change_agent_queue, may_change_agent_state
from acd.web.bodies import json_body
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
    for key in ("queues", "login", "logout"):
        queues = body.get(key)
        if queues is not None and (
            not isinstance(queues, list) or not all(isinstance(q, str) for q in queues)
        ):
            return f"{key} must be a list of queue names"
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 64):
        return "reason must be a string of at most 64 characters"
    return None


def routes(services: WebServices) -> list[Route]:
    centre = services.centre
    engine = centre.engine
    commands = services.commands

    def queues_for(who: Principal, agent: str, queues: list[str] | None, state: str | None,
                   agent_queues: list[str]) -> list[str] | None:
        """The queues a change may touch, refusing (403) what ``who`` may not do."""
        if queues is not None:
            for queue in queues:
                allow(may_change_agent_queue(who, agent, queue),
                      f"you do not supervise queue {queue!r}")
            return queues
        allow(may_change_agent_state(who, agent, agent_queues), "not your agent")
        if state == AgentState.LOGGED_OUT.value and not (who.is_admin or who.user == agent):
            return sorted(set(agent_queues) & who.supervises)
        return None

    async def agent_state(request: Request) -> Response:
        who = principal(request)
        agent_id = request.path_params["agent_id"]
        plan = centre.plan
        try:
            snap = engine.agent_snapshot(agent_id)
        except AcdError:
            return JSONResponse({"error": f"no agent {agent_id!r}"}, status_code=404)
        if request.method == "GET":
            allow(visibility(plan, who).sees_agent(agent_id), "not your agent")
            return JSONResponse(agent_json(snap))
        body = await json_body(request)
        if isinstance(body, Response):
            return body
        error = state_change_error(body)
        if error is not None:
            return JSONResponse({"error": error}, status_code=400)
        agent_queues = member_queues(plan, agent_id) if plan is not None else []
        state = body.get("state")
        reasons = plan.server.desktop.pause_reasons if plan is not None else ()
        if state == AgentState.PAUSED.value and body.get("reason") not in (None, *reasons):
            return JSONResponse(
                {"error": f"reason must be one of {', '.join(reasons)}"}, status_code=400
            )
        queues = queues_for(who, agent_id, body.get("queues"), state, agent_queues)
        joining, leaving = body.get("login"), body.get("logout")
        for queue in [*(joining or []), *(leaving or [])]:
            allow(may_change_agent_queue(who, agent_id, queue),
                  f"you do not supervise queue {queue!r}")
        if body.get("presence") is not None:
            error = commands.presence(agent_id, body["presence"] == "busy")
        if error is None and joining:
            error = commands.login(agent_id, joining)
        if error is None and leaving:
            error = commands.logout(agent_id, leaving)
        only_settings = body.get("presence") is not None or joining or leaving
        if error is None and (state is not None or not only_settings):
            if queues == [] and state == AgentState.LOGGED_OUT.value:
                error = None  # a supervisor's agent is in none of their queues: nothing to do
            else:
                error = commands.set_state(
                    agent_id, str(state), reason=body.get("reason"), queues=queues,
                )
        if error is not None:
            return JSONResponse({"error": error}, status_code=400)
        return JSONResponse(agent_json(engine.agent_snapshot(agent_id)))

    async def list_agents(request: Request) -> Response:
        """The live view of every agent the caller may see (what the wallboard shows)."""
        vis = visibility(centre.plan, principal(request))
        users = sorted(centre.plan.users) if centre.plan is not None else []
        views = [v for a in users if vis.sees_agent(a) and (v := services.live.agent_view(a))]
        return JSONResponse(views)

    return [
        Route("/api/agents", list_agents),
        Route("/api/agents/{agent_id}/state", agent_state, methods=["GET", "POST"]),
    ]
