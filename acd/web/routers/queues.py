"""Queues as supervisors see them (S1): only the queues the caller may see."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from acd.domain import QueueSnapshot
from acd.web.access import visibility
from acd.web.auth import principal
from acd.web.services import WebServices


def queue_json(snap: QueueSnapshot) -> dict[str, Any]:
    return {
        "id": snap.queue_id,
        "waiting": len(snap.waiting),
        "longest_wait": round(snap.longest_wait, 3),
        "ewt": None if snap.ewt is None else round(snap.ewt, 3),
        "average_handle_time": round(snap.average_handle_time, 3),
        "agents": {state.value: list(ids) for state, ids in snap.agents.items()},
    }


def routes(services: WebServices) -> list[Route]:
    centre = services.centre
    engine = centre.engine

    def queue_ids(request: Request) -> list[str]:
        vis = visibility(centre.plan, principal(request))
        queues = sorted(centre.plan.queues) if centre.plan is not None else []
        return [q for q in queues if vis.sees_queue(q)]

    async def list_queues(request: Request) -> Response:
        now = centre.now()
        return JSONResponse(
            [queue_json(engine.queue_snapshot(q, now)) for q in queue_ids(request)]
        )

    async def queue_callers(request: Request) -> Response:
        queue_id = request.path_params["queue_id"]
        if queue_id not in queue_ids(request):  # not there, or not theirs: the same answer
            return JSONResponse({"error": f"no queue {queue_id!r}"}, status_code=404)
        snap = engine.queue_snapshot(queue_id, centre.now())
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

    return [
        Route("/api/queues", list_queues),
        Route("/api/queues/{queue_id}/callers", queue_callers),
    ]
