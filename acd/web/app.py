"""The HTTP app: the JSON API for agents and supervisors (D1, S1).

GET  /api/queues                  every queue: waiting, longest wait, EWT, agents by state
GET  /api/queues/{id}/callers     the callers waiting in one queue, in order
GET  /api/agents/{id}/state       one agent's state
POST /api/agents/{id}/state       {"state": "ready"|"paused"|"logged_out",
                                   "reason": ..., "queues": [...], "presence": ...}
GET  /api/events                  server-sent events: agent states, queue events
POST /api/reload                  re-read the dial plan; 400 with the errors
GET  /api/media                   media legs, playing streams, ticker lateness (last minute)
WS   /sip                         SIP over WebSocket (RFC 7118, subprotocol "sip")
GET  /phone                       the browser phone on a page of its own
"""

from __future__ import annotations

from starlette.applications import Starlette

from acd.web import phone, sip_socket
from acd.web.routers import admin, agents, events, queues
from acd.web.services import WebServices
from acd.web.vendor import vendor_mount


def build_app(services: WebServices) -> Starlette:
    # The transports are filled in once the web server knows its port (acd.bootstrap).
    sip = [sip_socket.route(services.sip_websockets)]
    return Starlette(
        routes=[
            *admin.routes(services),
            *queues.routes(services),
            *agents.routes(services),
            *events.routes(services),
            *sip,
            *phone.routes(),
            vendor_mount(),
        ]
    )
