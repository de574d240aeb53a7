"""The agent desktop's own API: who am I, call out, hang up, contacts, recent calls.

Everything here acts for the signed-in user only (an agent's own calls).

GET    /api/me                 user, name, roles, supervised queues, CSRF token, pause reasons
GET    /api/snapshot           what the caller may see now (the SSE stream's first event)
GET    /api/contacts?q=TEXT    users and contacts matching every word (O1)
GET    /api/desk/caller-ids    group numbers the user may present on calls out (N3)
POST   /api/desk/callout       {"number", "caller_id", "label"}: ring me, then them (O2-O5)
DELETE /api/desk/callout       cancel while connecting (or hang up the call-out)
POST   /api/desk/hangup        end the call I am on
GET    /api/desk/calls         my recent calls: inbound, outbound, missed
GET    /api/desk/control       my call's hold, recording and consultation state (O7)
POST   /api/desk/hold          hold my call (the other party hears music) / resume
POST   /api/desk/resume
POST   /api/desk/transfer      {"to"}: blind transfer to a user, queue, plan number, number
POST   /api/desk/consult       {"to"}: hold the caller and call a user or a number
POST   /api/desk/consult/complete   join the caller to the consulted party, I leave
DELETE /api/desk/consult       cancel: hang up the consulted party, the caller is back
POST   /api/desk/record        {"action": start|pause|resume|stop, "announce": bool}
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from acd.contact.call_control import ControlError
from acd.contact.callout import CallOutError
from acd.web.access import member_queues, visibility
from acd.web.auth import csrf_token, principal
from acd.web.bodies import json_body
from acd.web.services import WebServices


def routes(services: WebServices) -> list[Route]:
    centre = services.centre
    callouts = services.callouts

    async def me(request: Request) -> Response:
        who = principal(request)
        plan = centre.plan
        user = plan.users.get(who.user) if plan is not None else None
        return JSONResponse({
            "user": who.user,
            "name": (user.display_name if user is not None else None) or who.user,
            "extension": user.extension if user is not None else None,
            "roles": sorted(who.roles),
            "supervises": sorted(who.supervises),
            "member_of": member_queues(plan, who.user) if plan is not None else [],
            "via": who.via,
            "csrf_token": csrf_token(request) or None,
            "pause_reasons": list(plan.server.desktop.pause_reasons) if plan else [],
        })

    async def snapshot(request: Request) -> Response:
        vis = visibility(centre.plan, principal(request))
        return Response(services.live.snapshot_json(vis), media_type="application/json")

    async def contacts(request: Request) -> Response:
        principal(request)
        plan = centre.plan
        query = request.query_params.get("q", "")[:100]
        found = services.contacts.search(plan, query) if plan is not None else []
        return JSONResponse({"results": found})

    async def caller_ids(request: Request) -> Response:
        who = principal(request)
        try:
            numbers = callouts.caller_ids(who.user)
            default = callouts.default_caller_id(who.user)
        except CallOutError as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)
        return JSONResponse({"caller_ids": numbers, "default": default})

    async def callout(request: Request) -> Response:
        who = principal(request)
        if request.method == "DELETE":
            if not callouts.cancel(who.user):
                return JSONResponse({"error": "no call-out in progress"}, status_code=409)
            current = callouts.current(who.user)
            return JSONResponse(current.view() if current is not None else {})
        body = await json_body(request)
        if isinstance(body, Response):
            return body
        number, shown, label = body.get("number"), body.get("caller_id"), body.get("label")
        if not isinstance(number, str) or not all(v is None or isinstance(v, str)
                                                  for v in (shown, label)):
            return JSONResponse({"error": "number, caller_id and label must be text"},
                                status_code=400)
        try:
            started = callouts.start(who.user, number, shown, label=label)
        except CallOutError as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)
        return JSONResponse(started.view(), status_code=202)

    async def hangup(request: Request) -> Response:
        who = principal(request)
        calls = services.registry.of_user(who.user)
        if not calls:
            if callouts.cancel(who.user):
                return JSONResponse({"ended": "call-out"})
            return JSONResponse({"error": "you are not on a call"}, status_code=409)
        for call in calls:
            role = next((p.role for p in call.parties if p.user == who.user), "agent")
            call.end(role, "hangup from desktop")
        return JSONResponse({"ended": [c.id for c in calls]})

    async def recent(request: Request) -> Response:
        who = principal(request)
        plan = centre.plan
        user = plan.users.get(who.user) if plan is not None else None
        if services.recent is None or user is None:
            return JSONResponse({"calls": []})
        calls = await services.recent(who.user, user.extension)

        def shown(number: str) -> str:
            """Records name users by name: show their name and extension."""
            other = plan.users.get(number) if plan is not None else None
            if other is None:
                return number
            return f"{other.display_name or number} ({other.extension})"

        return JSONResponse({"calls": [
            {
                "call_id": c.call_id, "at": c.at.timestamp(), "direction": c.direction,
                "number": shown(c.number), "queue": c.queue, "answered": c.answered,
                "seconds": None if c.seconds is None else round(c.seconds, 1),
                "disposition": c.disposition,
            }
            for c in calls
        ]})

    async def control(request: Request) -> Response:
        """O7: one handler for the call-control operations, by path and method."""
        who = principal(request)
        ops = services.control
        if ops is None:
            return JSONResponse({"error": "call control is not available"}, status_code=503)
        path = request.url.path.removeprefix("/api/desk/")
        try:
            if request.method == "GET":
                return JSONResponse(ops.view(who.user) or {})
            if path == "hold":
                return JSONResponse(ops.hold(who.user))
            if path == "resume":
                return JSONResponse(ops.resume(who.user))
            if path == "consult/complete":
                return JSONResponse(ops.complete(who.user))
            if path == "consult" and request.method == "DELETE":
                return JSONResponse(ops.cancel(who.user))
            body = await json_body(request)
            if isinstance(body, Response):
                return body
            if path == "record":
                return JSONResponse(ops.record(who.user, str(body.get("action", "")),
                                               announce=body.get("announce") is True))
            target = body.get("to")
            if not isinstance(target, str) or not target.strip():
                return JSONResponse({"error": "to: a user, queue or number"}, status_code=400)
            if path == "transfer":
                return JSONResponse(ops.transfer(who.user, target), status_code=202)
            return JSONResponse(ops.consult(who.user, target), status_code=202)
        except ControlError as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)

    return [
        Route("/api/desk/control", control),
        Route("/api/desk/hold", control, methods=["POST"]),
        Route("/api/desk/resume", control, methods=["POST"]),
        Route("/api/desk/transfer", control, methods=["POST"]),
        Route("/api/desk/consult", control, methods=["POST", "DELETE"]),
        Route("/api/desk/consult/complete", control, methods=["POST"]),
        Route("/api/desk/record", control, methods=["POST"]),
        Route("/api/me", me),
        Route("/api/snapshot", snapshot),
        Route("/api/contacts", contacts),
        Route("/api/desk/caller-ids", caller_ids),
        Route("/api/desk/callout", callout, methods=["POST", "DELETE"]),
        Route("/api/desk/hangup", hangup, methods=["POST"]),
        Route("/api/desk/calls", recent),
    ]
