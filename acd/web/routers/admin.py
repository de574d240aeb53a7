"""The admin's operations: reload the dial plan (S3, admins only), media
figures and ``/metrics`` for Prometheus (supervisors and admins; Prometheus
scrapes with an API token: ``authorization: {credentials: jono_...}``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from acd.metrics import CONTENT_TYPE
from acd.web.auth import allow, principal
from acd.web.auth.policy import may_reload
from acd.web.services import WebServices


def routes(services: WebServices) -> list[Route]:
    async def reload(request: Request) -> Response:
        allow(may_reload(principal(request)), "only an admin may reload the dial plan")
        errors = services.reload()
        if errors:
            return JSONResponse({"ok": False, "errors": errors}, status_code=400)
        return JSONResponse({"ok": True, "errors": []})

    async def media(request: Request) -> Response:
        who = principal(request)
        allow(who.is_admin or who.is_supervisor, "supervisors and admins only")
        return JSONResponse(services.media_status())

    async def metrics(request: Request) -> Response:
        who = principal(request)
        allow(who.is_admin or who.is_supervisor, "supervisors and admins only")
        return Response(services.metrics(), media_type=CONTENT_TYPE)

    return [
        Route("/metrics", metrics),
        Route("/api/media", media),
        Route("/api/reload", reload, methods=["POST"]),
    ]
