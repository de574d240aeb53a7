"""The HTTP app: the web workplace and the JSON API, closed to everyone who
has not signed in (acd.web.auth: sessions, CSRF, Host/Origin checks, tokens).

Public: ``GET /healthz``, the sign-in page (``/login``) and its stylesheet.
Everything else needs a session (browsers) or a bearer token (integrations).

Pages:
GET  /                             the agent desktop (signed-in user)
GET  /wallboard                    the supervisor wallboard (supervisors, admins)

API (JSON; state-changing requests from a session need ``X-CSRF-Token``):
GET  /api/me                       who am I: roles, queues, CSRF token, pause reasons
GET  /api/snapshot                 every queue and agent view I may see, now
GET  /api/events                   server-sent events: a snapshot, then changes (?types=)
GET  /api/queues                   my queues: waiting, longest wait, EWT, agents by state
GET  /api/queues/{id}/callers      the callers waiting in one queue, in order
GET  /api/agents                   the agent views I may see (the wallboard's)
GET  /api/agents/{id}/state        one agent's state
POST /api/agents/{id}/state        {"state", "reason", "queues", "login", "logout", "presence"}
GET  /api/contacts?q=              users and contacts to call (O1)
GET  /api/desk/caller-ids          group numbers I may present (N3)
POST /api/desk/callout             {"number", "caller_id"}: ring me, then them (O2)
DELETE /api/desk/callout           cancel the call-out
POST /api/desk/hangup              end the call I am on
GET  /api/desk/calls               my recent calls
POST /api/reload                   re-read the dial plan (admins); 400 with the errors
GET  /api/media                    media legs, streams, ticker lateness (supervisors, admins)
GET|POST /api/auth/tokens          API tokens: list, issue (from a session)
DELETE /api/auth/tokens/{id}       revoke a token
POST /api/phone/token             short-lived SIP credentials for this page's browser phone

Browser phone (issue 15):
GET  /phone                        the browser phone on a page of its own
WS   /sip                          SIP over WebSocket (RFC 7118, subprotocol "sip"); public
                                   like the SIP ports: SIP digest authenticates what runs over it
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from acd.web import phone, sip_socket
from acd.web.auth import AuthMiddleware, login_routes, token_routes
from acd.web.routers import admin, agents, callbacks, desk, events, pages, personal, queues
from acd.web.services import WebServices
from acd.web.vendor import vendor_mount

STATIC = Path(__file__).resolve().parent / "static" / "desk"


def build_app(services: WebServices) -> Starlette:
    routes: list[BaseRoute] = [
        *pages.routes(services),
        *login_routes(services.auth),
        *token_routes(services.auth),
        *admin.routes(services),
        *queues.routes(services),
        *agents.routes(services),
        *desk.routes(services),
        *personal.routes(services),
        *callbacks.routes(services),
        *events.routes(services),
        Mount("/static/desk", app=StaticFiles(directory=STATIC), name="desk_static"),
        *phone.routes(),
        phone.token_route(services.phone_tokens),
        # The transports are filled in once the web server knows its port (acd.bootstrap).
        sip_socket.route(services.sip_websockets),
        vendor_mount(),
    ]
    return Starlette(routes=routes, middleware=[Middleware(AuthMiddleware, auth=services.auth)])
