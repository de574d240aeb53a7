"""The browser phone's files (issue 15): ``/phone`` and ``/static/phone/``.

``phone.js`` (SIP.js over this server's ``/sip`` WebSocket, WebRTC media
terminated by Jono) and ``panel.js`` (its controls) are what the agent
desktop embeds; ``/phone`` is the same phone on a page of its own, signed in
with the user's SIP account. SIP.js itself is served from
``/static/vendor/sip.js/`` (npm, ``make vendor``).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static" / "phone"


async def _page(request: Request) -> Response:
    return FileResponse(STATIC / "phone.html", headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [
        Route("/phone", _page, methods=["GET"], name="phone"),
        Mount("/static/phone", app=StaticFiles(directory=STATIC), name="phone_static"),
    ]
