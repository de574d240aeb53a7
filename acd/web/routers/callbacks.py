"""The callback list's API (B5): what the desktop's list shows and does.

GET  /api/callbacks?queue=Q&status=S     requests of the queues the caller may see
                                         (open ones, and those closed today)
POST /api/callbacks/{id}/claim           open it: locked for me, not dialled automatically
POST /api/callbacks/{id}/release         give it back (before calling)
POST /api/callbacks/{id}/call            ring my phone, then the customer
POST /api/callbacks/{id}/finish          {"outcome": "done"|"no_answer", "note": TEXT}
POST /api/callbacks/{id}/assign          {"agent": NAME}   supervisors of the queue, admins
POST /api/callbacks/{id}/close           {"note": TEXT}    supervisors of the queue, admins

Agents work the queues they are members of; supervisors see and manage the
queues they supervise; admins all. Changes arrive live as ``callback``
events on ``/api/events``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from acd.contact.callback_list import CallbackList, ListError
from acd.domain.callback_list import CLOSED, OPEN
from acd.web.access import member_queues, visibility
from acd.web.auth import allow, principal
from acd.web.auth.policy import Principal
from acd.web.bodies import json_body
from acd.web.services import WebServices

STATUSES = frozenset((*OPEN, *CLOSED))


def routes(services: WebServices) -> list[Route]:
    centre = services.centre
    callbacks: CallbackList | None = services.callbacks

    def the_list() -> CallbackList:
        if callbacks is None:
            raise ListError("no callback list on this server", 404)
        return callbacks

    def queue_of(request_id: str) -> str:
        request = the_list().channel.requests.get(request_id)
        if request is None:
            raise ListError("no open request with that id", 404)
        return request.queue

    def works(who: Principal, queue: str) -> bool:
        plan = centre.plan
        return plan is not None and queue in member_queues(plan, who.user)

    def manages(who: Principal, queue: str) -> bool:
        return who.is_admin or (who.is_supervisor and queue in who.supervises)

    async def answer(action: Awaitable[dict[str, Any]]) -> Response:
        try:
            return JSONResponse(await action)
        except ListError as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)

    async def listing(request: Request) -> Response:
        who = principal(request)
        vis = visibility(centre.plan, who)
        queue = request.query_params.get("queue")
        status = request.query_params.get("status")
        if status is not None and status not in STATUSES:
            return JSONResponse({"error": f"status must be one of {sorted(STATUSES)}"},
                                status_code=400)
        if queue is not None:
            allow(vis.sees_queue(queue), "not one of your queues")
            queues: list[str] | None = [queue]
        else:
            queues = None if vis.queues is None else sorted(vis.queues)
        try:
            items = await the_list().listing(queues, statuses=None if status is None else [status])
        except ListError as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)
        return JSONResponse({
            "requests": items, "now": centre.now(), "owed": the_list().owed(who.user),
        })

    Act = Callable[[CallbackList, str, str, dict[str, Any]], Awaitable[dict[str, Any]]]

    def action(
        act: Act, *, may: Callable[[Principal, str], bool], refused: str, body: bool,
    ) -> Callable[[Request], Awaitable[Response]]:
        """One request's action, for whom ``may`` allows on its queue."""
        async def endpoint(request: Request) -> Response:
            who = principal(request)
            request_id = request.path_params["id"]
            data: dict[str, Any] = {}
            if body:
                parsed = await json_body(request)
                if isinstance(parsed, Response):
                    return parsed
                data = parsed
            try:
                queue = queue_of(request_id)
            except ListError as err:
                return JSONResponse({"error": str(err)}, status_code=err.status)
            allow(may(who, queue), refused)
            return await answer(act(the_list(), who.user, request_id, data))

        return endpoint

    def agent_action(act: Act, *, body: bool = False) -> Callable[[Request], Awaitable[Response]]:
        return action(act, may=works, refused="you are not an agent of this queue", body=body)

    def supervisor_action(act: Act) -> Callable[[Request], Awaitable[Response]]:
        return action(act, may=manages, refused="only the queue's supervisors may do that",
                      body=True)

    def text(data: dict[str, Any], key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str):
            raise ListError(f"{key} must be text", 400)
        return value

    async def finish(cb: CallbackList, user: str, rid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await cb.finish(user, rid, text(data, "outcome"), text(data, "note"))

    async def assign(cb: CallbackList, user: str, rid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await cb.assign(user, rid, text(data, "agent"))

    async def close(cb: CallbackList, user: str, rid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await cb.close(user, rid, text(data, "note"))

    return [
        Route("/api/callbacks", listing),
        Route("/api/callbacks/{id}/claim", agent_action(lambda cb, u, r, _: cb.claim(u, r)),
              methods=["POST"]),
        Route("/api/callbacks/{id}/release", agent_action(lambda cb, u, r, _: cb.release(u, r)),
              methods=["POST"]),
        Route("/api/callbacks/{id}/call", agent_action(lambda cb, u, r, _: cb.call(u, r)),
              methods=["POST"]),
        Route("/api/callbacks/{id}/finish", agent_action(finish, body=True), methods=["POST"]),
        Route("/api/callbacks/{id}/assign", supervisor_action(assign), methods=["POST"]),
        Route("/api/callbacks/{id}/close", supervisor_action(close), methods=["POST"]),
    ]
