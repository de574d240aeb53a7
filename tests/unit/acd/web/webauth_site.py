"""A tiny Starlette app protected by acd.web.auth (the unit tests drive it through httpx).

Users: alice and bob are agents of sales, carol of support; sue supervises
sales; ada is admin; zed has a SIP account but no web role.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from acd.web.auth import (
    AuthMiddleware,
    AuthSettings,
    MemoryAccounts,
    PasswordHasher,
    WebAuth,
    allow,
    csrf_token,
    login_routes,
    logout_form,
    principal,
    role_table,
    token_routes,
)
from acd.web.auth.passwords import FAST_TEST_PARAMETERS
from acd.web.auth.policy import may_change_agent_state, may_reload, may_see_queue

PASSWORDS = {
    "alice": "alice-web-pass-1",
    "bob": "bob-web-pass-22",
    "carol": "carol-web-pass-3",
    "sue": "sue-web-pass-444",
    "ada": "ada-web-pass-5555",
}
ROLES = role_table(
    {
        "alice": (["agent"], []),
        "bob": (["agent"], []),
        "carol": (["agent"], []),
        "sue": (["supervisor"], ["sales"]),
        "ada": (["admin"], []),
    }
)
QUEUES = {"sales": ["alice", "bob"], "support": ["carol"]}
ORIGIN = "http://localhost"


def queues_of(agent: str) -> list[str]:
    return [q for q, members in QUEUES.items() if agent in members]


@dataclass
class Clock:
    now: float = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Site:
    auth: WebAuth
    app: Starlette
    clock: Clock
    states: dict[str, str] = field(default_factory=dict)
    reloads: int = 0


def build_site(settings: AuthSettings | None = None) -> Site:
    clock = Clock()
    accounts = MemoryAccounts()
    hasher = PasswordHasher(FAST_TEST_PARAMETERS)
    for user, password in PASSWORDS.items():
        accounts._passwords[user] = hasher.hash(password)
    accounts._passwords["zed"] = hasher.hash("zed-web-pass-666")  # no web role
    auth = WebAuth(
        accounts=accounts, roles=ROLES.get, settings=settings, hasher=hasher, clock=clock
    )
    site: Site

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def home(request: Request) -> Response:
        who = principal(request)
        form = logout_form(action="/logout", csrf_token=csrf_token(request), user=who.user)
        return HTMLResponse(f"<h1>Desktop of {who.user}</h1>{form}")

    async def queues(request: Request) -> Response:
        who = principal(request)
        visible = [q for q, m in QUEUES.items() if may_see_queue(who, q, m)]
        return JSONResponse({"queues": visible})

    async def agent_state(request: Request) -> Response:
        who = principal(request)
        agent = request.path_params["agent"]
        allow(may_change_agent_state(who, agent, queues_of(agent)))
        body = await request.json()
        site.states[agent] = body["state"]
        return JSONResponse({"agent": agent, "state": body["state"]})

    async def reload(request: Request) -> Response:
        allow(may_reload(principal(request)))
        site.reloads += 1
        return JSONResponse({"reloaded": True})

    async def events(request: Request) -> Response:
        principal(request)

        async def stream() -> AsyncIterator[bytes]:
            yield b"event: hello\ndata: {}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def live(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"user": principal(websocket).user})
        await websocket.close()

    app = Starlette(
        routes=[
            WebSocketRoute("/ws", live),
            Route("/healthz", healthz),
            Route("/", home),
            Route("/api/queues", queues),
            Route("/api/agents/{agent}/state", agent_state, methods=["POST"]),
            Route("/api/reload", reload, methods=["POST"]),
            Route("/api/events", events),
            *login_routes(auth),
            *token_routes(auth),
        ],
        middleware=[Middleware(AuthMiddleware, auth=auth)],
    )
    site = Site(auth=auth, app=app, clock=clock)
    return site


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, html
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    token = form_token(page.text)
    return await client.post(
        "/login",
        data={"user": user, "password": password, "csrf_token": token, "next": "/"},
        headers={"origin": ORIGIN},
    )


async def signed_in(client: httpx.AsyncClient, user: str) -> str:
    """Sign ``user`` in; the session's CSRF token (read off the home page)."""
    response = await sign_in(client, user, PASSWORDS[user])
    assert response.status_code == 303, response.text
    home = await client.get("/", headers={"accept": "text/html"})
    assert home.status_code == 200, home.text
    return form_token(home.text)
