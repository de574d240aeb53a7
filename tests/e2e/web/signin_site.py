"""A real HTTP server (uvicorn on 127.0.0.1, own thread) with the sign-in and one protected page.

The protected page loads SIP.js from /static/vendor/ (staged by `make
vendor`) as an ES module and shows what it found, so a browser test proves
the npm arrangement too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from html import escape

import uvicorn
from peers.ports import free_port
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from acd.web.auth import (
    AuthMiddleware,
    AuthSettings,
    MemoryAccounts,
    PasswordHasher,
    WebAuth,
    csrf_token,
    login_routes,
    logout_form,
    principal,
    role_table,
)
from acd.web.vendor import vendor_missing, vendor_mount

USERS = {"alice": "alice-web-pass-1", "sue": "sue-web-pass-444"}
ROLES = role_table({"alice": (["agent"], []), "sue": (["supervisor"], ["sales"])})

_DESK = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Desktop · Jono</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
header {{ display: flex; justify-content: space-between; align-items: center; }}
.signout button {{ padding: .4rem 1rem; }}</style></head>
<body><header><h1>Desktop of {user}</h1>{logout}</header>
<p>Roles: {roles}</p>
<p id="sipjs" data-loaded="no">SIP.js: loading…</p>
<script type="module">
import * as SIP from "/static/vendor/sip.js/index.js";
const out = document.getElementById("sipjs");
out.textContent = `SIP.js: ${{SIP.name}} ${{SIP.version}}, UserAgent is a ${{typeof SIP.UserAgent}}`;
out.dataset.loaded = typeof SIP.UserAgent === "function" ? "yes" : "no";
</script></body></html>
"""


def build_app() -> Starlette:
    problem = vendor_missing()
    if problem is not None:
        raise RuntimeError(problem)
    hasher = PasswordHasher()
    accounts = MemoryAccounts()
    for user, password in USERS.items():
        accounts._passwords[user] = hasher.hash(password)
    auth = WebAuth(accounts=accounts, roles=ROLES.get, settings=AuthSettings(), hasher=hasher)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def desk(request: Request) -> Response:
        who = principal(request)
        form = logout_form(action="/logout", csrf_token=csrf_token(request), user=who.user)
        roles = ", ".join(sorted(who.roles))
        return HTMLResponse(_DESK.format(user=escape(who.user), logout=form, roles=roles))

    async def whoami(request: Request) -> Response:
        return JSONResponse({"user": principal(request).user})

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/", desk),
            Route("/api/whoami", whoami),
            *login_routes(auth),
            vendor_mount(),
        ],
        middleware=[Middleware(AuthMiddleware, auth=auth)],
    )


@dataclass
class RunningSite:
    server: uvicorn.Server
    thread: threading.Thread
    base_url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve(host: str = "127.0.0.1") -> RunningSite:
    port = free_port()
    config = uvicorn.Config(
        build_app(),
        host=host,
        port=port,
        loop="asyncio",
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # X-Forwarded-* are the auth middleware's business
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"signin-site-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"sign-in test site did not start on {host}:{port}")
        time.sleep(0.02)
    return RunningSite(server=server, thread=thread, base_url=f"http://{host}:{port}")
