"""The composition root: builds the SIP stack, store and call handling from
a dial plan and runs them on one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass
from typing import Any

from acd.access import Access
from acd.bridge import Bridge, give_up
from acd.routing import Router
from acd.store import SqlBindingStore, Store, utcnow
from sip.dialog import new_tag
from sip.legs import IncomingCall, OutgoingCall
from sip.message import Request
from sip.registrar import LocationService
from sip.transport import Target
from sip.ua import UserAgent

log = logging.getLogger("jono.server")


@dataclass
class Settings:
    host: str
    port: int
    db: str
    realm: str
    public_host: str | None = None


class JonoServer:
    """Handles out-of-dialog requests: REGISTER and new calls."""

    def __init__(self, dialplan: Any, settings: Settings) -> None:
        self.dialplan = dialplan
        self.settings = settings
        self.store = Store(settings.db)
        self.ua = UserAgent(self, public_host=settings.public_host)
        self.access = Access(settings.realm, dialplan.users, dialplan.trunks)
        # The location service works on wall-clock time: bindings outlive a restart.
        self.location = LocationService(store=SqlBindingStore(self.store))
        self.router = Router(dialplan, self.location)
        self.bridges: set[Bridge] = set()
        self._expiry_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.ua.start(self.settings.host, self.settings.port)
        restored = self.location.restore(time.time())
        log.info("restored %s registrations", restored)
        self._expiry_task = asyncio.get_running_loop().create_task(self._expire_bindings())

    def close(self) -> None:
        if self._expiry_task is not None:
            self._expiry_task.cancel()
        self.ua.close()
        self.store.close()

    async def _expire_bindings(self) -> None:
        while True:
            await asyncio.sleep(10)
            try:
                self.location.expire(time.time())
            except Exception:
                log.exception("binding expiry failed")

    # -- RequestHandler ----------------------------------------------------
    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        if request.method == "REGISTER":
            self._register(request, txn, source)
        elif request.method == "INVITE":
            self._invite(request, txn, source)
        else:
            # BYE/INFO outside a dialog (§12.2.2).
            ua.respond(txn, request, 481)

    # RFC 3261 §10.3: processing REGISTER requests.
    def _register(self, request: Request, txn: object, source: Target) -> None:
        now = time.time()
        username = self.access.authenticate(self.ua, request, txn, now)
        if username is None:
            return
        try:
            aor_user = request.to.sip_uri.user
        except Exception:
            self.ua.respond(txn, request, 400, "Bad To")
            return
        # §10.3 step 5: the authenticated user must be allowed to register the AOR.
        if not self.router.may_register(username, aor_user):
            self.ua.respond(txn, request, 403)
            return
        response = self.location.process_register(
            request, username, source, now, to_tag=new_tag(), transport=source.transport
        )
        self.ua.send_response(txn, response)

    def _invite(self, request: Request, txn: object, source: Target) -> None:
        now = time.time()
        caller = self.access.identify(self.ua, request, txn, source, now)
        if caller is None:
            return
        route = self.router.route(request, caller, now)
        if route.status is not None:
            self.ua.respond(txn, request, route.status, route.reason)
            self._record(request, caller.kind + ":" + caller.name, route.status, "rejected")
            return
        incoming = IncomingCall(self.ua, request, txn, source)
        if not route.targets:
            incoming.reject(480, "Temporarily Unavailable")
            self._record(request, caller.kind + ":" + caller.name, 480, "unavailable")
            return
        outgoing = OutgoingCall(
            self.ua,
            route.targets,
            from_uri=route.from_uri,
            from_display=route.from_display,
            to_uri=route.to_uri,
            sdp=request.body or None,
        )
        started = utcnow()
        caller_id = f"{caller.kind}:{caller.name}"

        def done(bridge: Bridge, status: int, disposition: str, ended_by: str | None) -> None:
            self.bridges.discard(bridge)
            if timer is not None:
                timer.cancel()
            self.store.add_cdr(
                call_id=request.call_id, caller=route.from_uri, callee=route.to_uri,
                source=caller_id, started_at=started, answered_at=bridge.answered_at,
                ended_at=utcnow(), status=status, disposition=disposition, ended_by=ended_by,
            )

        bridge = Bridge(incoming, outgoing, done)
        self.bridges.add(bridge)
        timer: asyncio.TimerHandle | None = None
        if route.ring_timeout:
            timer = asyncio.get_running_loop().call_later(route.ring_timeout, give_up, bridge)
        bridge.start()

    def _record(self, request: Request, source: str, status: int, disposition: str) -> None:
        now = utcnow()
        self.store.add_cdr(
            call_id=request.call_id, caller=request.headers.get("From") or "",
            callee=request.uri, source=source, started_at=now, ended_at=now,
            status=status, disposition=disposition,
        )


async def serve(dialplan: Any, settings: Settings, ready: asyncio.Event | None = None) -> None:
    server = JonoServer(dialplan, settings)
    await server.start()
    log.info("listening on udp+tcp %s:%s", settings.host, server.ua.port)
    print(f"jono: listening on udp+tcp {settings.host}:{server.ua.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        server.close()
