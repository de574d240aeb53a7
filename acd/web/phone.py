"""The browser phone's files (issue 15): ``/phone`` and ``/static/phone/``.

``phone.js`` (SIP.js over this server's ``/sip`` WebSocket, WebRTC media
terminated by Jono) and ``panel.js`` (its controls) are what the agent
desktop embeds (``static/desk/phone.js``); ``/phone`` is the same phone on a
page of its own. Both are behind the sign-in, and both get their SIP
credentials from the session (:func:`token_route`), never a SIP password.
SIP.js itself is served from ``/static/vendor/sip.js/`` (npm, ``make vendor``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import structlog
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from acd.telephony.phone_tokens import PhoneTokens
from acd.web.auth.middleware import auth_context

STATIC = Path(__file__).resolve().parent / "static" / "phone"
log = structlog.stdlib.get_logger("jono.web.phone")


async def _page(request: Request) -> Response:
    return FileResponse(STATIC / "phone.html", headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [
        Route("/phone", _page, methods=["GET"], name="phone"),
        Mount("/static/phone", app=StaticFiles(directory=STATIC), name="phone_static"),
    ]


def token_route(tokens: PhoneTokens, clock: Callable[[], float] = time.time) -> Route:
    """``POST /api/phone/token``: SIP credentials for the signed-in user's browser phone.

    Only a browser session gets one (not an API token): the page passes the
    name and secret to SIP.js and shows neither. They expire after the
    tokens' ttl; the page asks again before that. Behind the auth middleware
    (CSRF checked like any state-changing request)."""

    async def issue(request: Request) -> Response:
        ctx = auth_context(request)
        if ctx.principal is None:
            return JSONResponse({"error": "sign-in required"}, status_code=401)
        if ctx.session is None or ctx.principal.via != "session":
            return JSONResponse({"error": "phone credentials are for a signed-in page"},
                                status_code=403)
        user = ctx.principal.user
        token = tokens.issue(user, clock(), session=ctx.session.id_hash)
        scheme = "wss" if request.url.scheme in ("https", "wss") else "ws"
        host = request.url.hostname or "localhost"
        log.info("phone token issued", user=user, auth_name=token.auth_name,
                 expires_in=round(tokens.ttl))
        return JSONResponse(
            {"user": user, "auth_user": token.auth_name, "secret": token.secret,
             "expires_in": tokens.ttl, "aor": f"sip:{user}@{host}",
             "server": f"{scheme}://{request.url.netloc}/sip"},
            headers={"Cache-Control": "no-store"},
        )

    return Route("/api/phone/token", issue, methods=["POST"], name="phone_token")
