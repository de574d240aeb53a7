"""The admin's operations: reload the dial plan (S3), media figures, and
``/metrics`` for Prometheus."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from acd.metrics import CONTENT_TYPE
from acd.web.services import WebServices


def routes(services: WebServices) -> list[Route]:
    async def reload(request: Request) -> Response:
        errors = services.reload()
        if errors:
            return JSONResponse({"ok": False, "errors": errors}, status_code=400)
        return JSONResponse({"ok": True, "errors": []})

    async def media(request: Request) -> Response:
        return JSONResponse(services.media_status())

    async def metrics(request: Request) -> Response:
        return Response(services.metrics(), media_type=CONTENT_TYPE)

    return [
        Route("/metrics", metrics),
        Route("/api/media", media),
        Route("/api/reload", reload, methods=["POST"]),
    ]
