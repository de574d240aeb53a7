"""The composition root: builds the SIP stack, store and call handling from
a dial plan and runs them on one asyncio loop."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acd import gc_pacing
from acd.access import Access, Caller
from acd.bridge import (
    AnchoredBridge,
    Bridge,
    SdpProblem,
    answer_locally,
    give_up,
    open_answering_leg,
)
from acd.config import ConfigError
from acd.config import load as load_config
from acd.flows.announcements import Announcements
from acd.flows.runner import FlowRunner
from acd.flows.session import CallerSession
from acd.queues.service import QueueService
from acd.routing import Route, Router
from acd.store import SqlBindingStore, Store, utcnow
from acd.trunk_registrations import TrunkRegistrations
from media.engine import MediaEngine
from media.leg import MediaLeg
from media.prompts import PromptLibrary
from sip.dialog import new_tag
from sip.errors import SipError
from sip.headers import SipUri
from sip.leg_events import Cancelled, Ended, ReInvite
from sip.legs import IncomingCall, OutgoingCall
from sip.message import Request
from sip.registrar import LocationService
from sip.transport import Target
from sip.ua import UserAgent

log = logging.getLogger("jono.server")

BUNDLED_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"


@dataclass
class Settings:
    host: str
    port: int
    db: str
    realm: str
    public_host: str | None = None
    rtp_ports: tuple[int, int] = (20000, 29999)
    media_dead_after: float = 60.0
    cache_dir: str = "var/cache"


class JonoServer:
    """Handles out-of-dialog requests: REGISTER and new calls."""

    def __init__(self, dialplan: Any, settings: Settings, config_path: str | None = None) -> None:
        self.settings = settings
        self.config_path = config_path
        self.store = Store(settings.db)
        self.ua = UserAgent(self, public_host=settings.public_host)
        # The location service works on wall-clock time: bindings outlive a restart.
        self.location = LocationService(store=SqlBindingStore(self.store))
        self.bridges: set[Bridge] = set()
        self._ring_timers: dict[Bridge, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sessions: set[CallerSession] = set()
        self.media: MediaEngine = MediaEngine(
            settings.public_host or settings.host, settings.rtp_ports,
            dead_after=settings.media_dead_after,
        )
        self.clock = schedule_clock()
        self._nonce_secret = secrets.token_bytes(32)
        self.queues = QueueService(self)
        self.registrations = TrunkRegistrations(self.ua)
        self._apply_dialplan(dialplan)
        self._expiry_task: asyncio.Task[None] | None = None

    def _apply_dialplan(self, dialplan: Any) -> None:
        """Build everything that depends on the dial plan; calls in progress keep
        the objects they started with (S3: reload without dropping calls)."""
        prompts = load_prompts(dialplan)
        for moh_class in prompts.moh_classes():
            self.media.add_moh_class(moh_class, prompts.moh(moh_class))
        announcements = Announcements(dialplan, prompts, Path(self.settings.cache_dir))
        # One nonce secret for the process: nonces issued before a reload stay valid.
        access = Access(
            self.settings.realm, dialplan.users, dialplan.trunks,
            algorithms=tuple(dialplan.server.digest_algorithms), secret=self._nonce_secret,
        )
        router = Router(dialplan, self.location)
        flows = FlowRunner(
            dialplan, router, announcements, clock=self.clock,
            queue_handler=self.queues.run_caller,
        )
        self.dialplan, self.prompts, self.announcements = dialplan, prompts, announcements
        self.access, self.router, self.flows = access, router, flows
        self.queues.configure(dialplan)
        self.registrations.configure(dialplan.trunks)

    def reload(self) -> list[str]:
        """Re-read the dial plan file; on errors keep the running plan and return them."""
        if self.config_path is None:
            return ["no configuration file to reload"]
        try:
            dialplan = load_config(self.config_path)
        except ConfigError as err:
            for line in str(err).splitlines():
                log.error("reload rejected: %s", line)
            return str(err).splitlines()
        self._apply_dialplan(dialplan)
        log.info("reloaded %s", self.config_path)
        return []

    async def start(self) -> None:
        # Queues and the HTTP API first: the first SIP request may need them.
        await self.queues.start()
        await self.ua.start(self.settings.host, self.settings.port)
        restored = self.location.restore(time.time())
        log.info("restored %s registrations", restored)
        self.registrations.start()
        self._expiry_task = asyncio.get_running_loop().create_task(self._expire_bindings())

    async def close(self) -> None:
        if self._expiry_task is not None:
            self._expiry_task.cancel()
        await self.queues.close()
        self.registrations.stop()
        self.ua.close()
        await self.media.close()
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
        caller_id = f"{caller.kind}:{caller.name}"
        dialled = _dialled(request)
        if caller.kind == "trunk" and dialled == self.registrations.contact_user(caller.name):
            # A registered trunk calls the Contact we registered; the number
            # the caller dialled is in To.
            dialled = _to_user(request) or dialled
        if dialled is not None and self.queues.feature_code(request, txn, source, caller, dialled):
            return
        if dialled is not None and not self.router.is_extension(dialled):
            self._number_call(request, txn, source, caller, dialled)
            return
        route = self.router.route(request, caller, now)
        if route.status is not None:
            self.ua.respond(txn, request, route.status, route.reason)
            self._record(request, caller_id, route.status, "rejected")
            return
        incoming = IncomingCall(self.ua, request, txn, source)
        if route.kind == "echo":
            self._spawn(self._echo(incoming, caller_id))
            return
        if not route.targets:
            incoming.reject(480, "Temporarily Unavailable")
            self._record(request, caller_id, 480, "unavailable")
            return
        if route.media == "anchor":
            self._spawn(self._anchored_call(incoming, route, caller_id))
        else:
            outgoing = self._outgoing(route, request.body or None)
            self._start_bridge(Bridge(incoming, outgoing, self._on_done(incoming, route, caller_id)), route)

    def _number_call(
        self, request: Request, txn: object, source: Target, caller: Caller, dialled: str
    ) -> None:
        """A call to a dial-plan number: run its destination as a call flow."""
        caller_id = f"{caller.kind}:{caller.name}"
        number = self.dialplan.find_number(dialled)
        # N1: an internal-only number is not reachable from a trunk.
        if number is None or (number.internal_only and caller.kind == "trunk"):
            # S4: a number that is not (or no longer) in service gets a clear answer.
            self.ua.respond(txn, request, 404, "Not In Service")
            self._record(request, caller_id, 404, "not_in_service")
            return
        incoming = IncomingCall(self.ua, request, txn, source)
        language = number.language or self.dialplan.server.language
        self._spawn(self._flow(incoming, caller, number, language))

    async def _flow(self, incoming: IncomingCall, caller: Caller, number: Any, language: str) -> None:
        opened = await open_answering_leg(self.media, incoming)
        if opened is None:
            return
        media, answer = opened
        caller_number = self.router.caller_number(incoming.request, caller)
        session = CallerSession(
            ua=self.ua, engine=self.media, prompts=self.prompts, incoming=incoming, media=media,
            answer_sdp=answer, caller_id=f"{caller.kind}:{caller.name}",
            caller_number=caller_number, dialled=_dialled(incoming.request) or "",
            language=language, on_end=self._session_ended,
        )
        self.sessions.add(session)
        await self.flows.run(session, number.destination, number)

    def _session_ended(self, session: CallerSession) -> None:
        self.sessions.discard(session)
        self.store.add_cdr(
            call_id=session.call_id, caller=session.caller_number, callee=session.dialled,
            source=session.caller_id, started_at=session.started_at,
            answered_at=session.answered_at, ended_at=utcnow(),
            status=200 if session.answered_at else 487,
            disposition="answered" if session.answered_at else "abandoned",
            ended_by=session.ended_by,
            detail=json.dumps(session.variables) if session.variables else None,
            media=media_json(caller=session.media, callee=session.peer_media),
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _outgoing(self, route: Route, sdp: bytes | None) -> OutgoingCall:
        return OutgoingCall(
            self.ua, route.targets, from_uri=route.from_uri, from_display=route.from_display,
            to_uri=route.to_uri, sdp=sdp,
        )

    def _on_done(
        self, incoming: IncomingCall, route: Route, caller_id: str
    ) -> Callable[[Bridge, int, str, str | None], None]:
        started = utcnow()

        def done(bridge: Bridge, status: int, disposition: str, ended_by: str | None) -> None:
            self.bridges.discard(bridge)
            timer = self._ring_timers.pop(bridge, None)
            if timer is not None:
                timer.cancel()
            self.store.add_cdr(
                call_id=incoming.call_id, caller=route.from_uri, callee=route.to_uri,
                source=caller_id, started_at=started, answered_at=bridge.answered_at,
                ended_at=utcnow(), status=status, disposition=disposition, ended_by=ended_by,
                media=media_json(**bridge.media_legs()),
            )

        return done

    def _start_bridge(self, bridge: Bridge, route: Route) -> None:
        self.bridges.add(bridge)
        if route.ring_timeout:
            self._ring_timers[bridge] = asyncio.get_running_loop().call_later(
                route.ring_timeout, give_up, bridge
            )
        bridge.start()

    async def _anchored_call(self, incoming: IncomingCall, route: Route, caller_id: str) -> None:
        """Media through Jono: answer the caller from one leg, offer from another."""
        caller_media = await self.media.open_leg()
        callee_media = await self.media.open_leg()
        try:
            answer = caller_media.local_sdp_answer(incoming.sdp or b"")
        except SdpProblem as err:
            log.info("no common codec with caller %s: %s", incoming.call_id, err)
            incoming.reject(488)
            caller_media.close()
            callee_media.close()
            self._record(incoming.request, caller_id, 488, "failed")
            return
        if incoming.finalised:  # the caller gave up while we set up media
            caller_media.close()
            callee_media.close()
            return
        outgoing = self._outgoing(route, callee_media.make_offer())
        bridge = AnchoredBridge(
            incoming, outgoing, self._on_done(incoming, route, caller_id),
            engine=self.media, caller_media=caller_media, callee_media=callee_media,
            answer_sdp=answer,
        )
        self._start_bridge(bridge, route)

    async def _echo(self, incoming: IncomingCall, caller_id: str) -> None:
        """Number 600: answer and send the caller's own audio back through the engine."""
        opened = await open_answering_leg(self.media, incoming)
        if opened is None:
            return
        leg, answer = opened
        started = utcnow()

        def ended(event: object) -> None:
            if isinstance(event, Ended | Cancelled):
                leg.close()
                self.store.add_cdr(
                    call_id=incoming.call_id, caller=incoming.request.headers.get("From") or "",
                    callee="echo", source=caller_id, started_at=started, answered_at=started,
                    ended_at=utcnow(), status=200, disposition="answered",
                    ended_by="caller" if isinstance(event, Ended) else None,
                    media=media_json(caller=leg),
                )
            elif isinstance(event, ReInvite):
                answer_locally(incoming, leg, event)

        def dead(_: object) -> None:
            incoming.hangup()
            leg.close()

        incoming.listener = ended
        leg.on_dead = dead
        leg.echo(True)
        incoming.answer(answer)

    def _record(self, request: Request, source: str, status: int, disposition: str) -> None:
        now = utcnow()
        self.store.add_cdr(
            call_id=request.call_id, caller=request.headers.get("From") or "",
            callee=request.uri, source=source, started_at=now, ended_at=now,
            status=status, disposition=disposition,
        )


def media_json(**legs: MediaLeg | None) -> str | None:
    """The call record's ``media`` column: each leg's counters (S2)."""
    figures = {name: asdict(leg.stats) for name, leg in legs.items() if leg is not None}
    return json.dumps(figures) if figures else None


def _dialled(request: Request) -> str | None:
    try:
        return SipUri.parse(request.uri).user
    except SipError:
        return None


def _to_user(request: Request) -> str | None:
    try:
        return request.to.sip_uri.user
    except SipError:
        return None


def load_prompts(dialplan: Any) -> PromptLibrary:
    """System prompts, with the admin's own directory first (overrides by name)."""
    dirs = [BUNDLED_PROMPTS]
    own = getattr(dialplan.server, "prompts_dir", None)
    if own:
        dirs.insert(0, Path(own))
    return _library(tuple(dirs))


@functools.lru_cache(maxsize=4)
def _library(dirs: tuple[Path, ...]) -> PromptLibrary:
    # Decoding every prompt takes ~0.6 s; a reload with the same directories reuses it.
    return PromptLibrary(list(dirs)).load_all()


def schedule_clock() -> Callable[[], datetime]:
    """The clock schedules (opening hours) are evaluated on.

    ``JONO_FAKE_NOW`` (an ISO time with offset) pins it, for tests of
    opening hours, holidays and DST switches against the real server.
    """
    fake = os.environ.get("JONO_FAKE_NOW")
    if fake:
        pinned = datetime.fromisoformat(fake)
        return lambda: pinned
    return lambda: datetime.now(UTC)


class CannotListen(Exception):
    """``jono serve`` could not open its SIP address."""


async def serve(
    dialplan: Any, settings: Settings, config_path: str | None = None,
    pid_file: str | None = None,
) -> None:
    server = JonoServer(dialplan, settings, config_path)
    try:
        await server.start()
    except OSError as err:  # the SIP address is taken or not ours
        await server.close()
        raise CannotListen(f"cannot listen on {settings.host}:{settings.port}: {err}") from None
    log.info("listening on udp+tcp %s:%s", settings.host, server.ua.port)
    print(f"jono: listening on udp+tcp {settings.host}:{server.ua.port}", flush=True)
    if pid_file:
        Path(pid_file).parent.mkdir(parents=True, exist_ok=True)
        Path(pid_file).write_text(f"{os.getpid()}\n")
    # Full garbage collections are paced so they do not stall the media ticker.
    pacing = gc_pacing.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        loop.add_signal_handler(signal.SIGHUP, server.reload)
    except (NotImplementedError, RuntimeError):
        pass
    try:
        await stop.wait()
    finally:
        pacing.cancel()
        await server.close()
        if pid_file:
            Path(pid_file).unlink(missing_ok=True)
