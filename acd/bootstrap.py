"""The composition root: the one place that builds Jono from a dial plan.

:func:`build` makes the store, the SIP user agent, the media engine, the
ACD engine, the clock and every service, wires them together and returns
the running :class:`Jono`. Tests swap fakes in through :class:`Parts`
(another store, scripted SIP legs, a pinned clock, no HTTP); nothing else
constructs services, and nothing imports this module but the CLI and tests.

A reload builds the plan-dependent objects anew (access, device directory,
trunks, announcements, call flows) and swaps them in at once; calls in
progress keep the objects they started with (S3).
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import signal
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from acd import gc_pacing
from acd.calls.call import Call
from acd.calls.dialer import Dialer
from acd.calls.mailbox import Mailboxes
from acd.calls.ports import LegFactory
from acd.calls.recording import Recordings, RecordingStore
from acd.calls.registry import CallRegistry
from acd.clock import Clock, PinnedSchedules, SystemClock
from acd.config import ConfigError, ConfigIssue, Dialplan
from acd.config import load as load_config
from acd.config.reload_guard import ReloadRefused, check_reload
from acd.config.server import split_host_port
from acd.config.types import ACCEPTED_KINDS
from acd.contact.agents import AgentCommands
from acd.contact.call_control import CallControl
from acd.contact.callback_list import CallbackList
from acd.contact.callout import Callouts
from acd.contact.centre import ContactCentre
from acd.contact.channels.callback import CallbackChannel
from acd.contact.channels.callback_caller import CallbackDialog
from acd.contact.channels.voice import VoiceChannel
from acd.contact.features import FeatureCodes
from acd.contact.personal import Personal
from acd.control import ControlServer
from acd.domain import AcdEngine, InMemoryAgentRepository
from acd.domain.callback_list import CallbackRepository
from acd.flows.announcements import Announcements
from acd.flows.forwarding import Forwarding
from acd.flows.inbound import InboundCalls
from acd.flows.mailbox_menu import MailboxMenu
from acd.flows.runner import FlowRunner
from acd.flows.transfer import Transfers
from acd.flows.user_features import USER_FEATURES, UserFeatures
from acd.flows.voicemail import Voicemail, counts_of
from acd.metrics import QueueFigures, Sources, exposition, make_registry
from acd.store import Store
from acd.tasks import TaskGroup
from acd.telephony.access import Access
from acd.telephony.directory import DeviceDirectory
from acd.telephony.inbound import InboundDispatch, InboundPlan
from acd.telephony.legs import SipLegs
from acd.telephony.mwi import MessageWaiting
from acd.telephony.phone_tokens import PhoneTokens
from acd.telephony.registrar import Registrar
from acd.telephony.tls_files import TlsFiles, tls_files
from acd.telephony.tls_files import client as tls_client
from acd.telephony.trunk_registrations import TrunkRegistrations
from acd.telephony.trunks import TrunkRoutes
from acd.web.http import HttpServer
from acd.web.workplace import Web, build_web
from media.api import MediaEngineApi
from media.engine import MediaEngine
from media.prompts import PromptLibrary
from media.rtpengine.engine import RtpengineEngine
from media.rtpengine.ng import NgError
from sip.auth import AuthThrottle, NonceCounts, ThrottleLimits
from sip.registrar import BindingStore, LocationService
from sip.tcp_guard import TcpLimits
from sip.timers import TimerConfig
from sip.transport import Target
from sip.transport_ws import WsTransport
from sip.ua import UserAgent

log = structlog.stdlib.get_logger("jono.server")

BUNDLED_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
BINDING_EXPIRY_S = 10.0


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
    http: tuple[str, int] | None = None  # None: the plan's server.http
    tls: tuple[str, int] | None = None  # None: the plan's server.tls.listen
    schedule_time: datetime | None = None  # schedules see this time (PinnedSchedules)


class StoreLike(Protocol):
    """What the server needs of its store (acd.store.Store; fakes in tests)."""

    @property
    def bindings(self) -> BindingStore | None: ...

    @property
    def callbacks(self) -> CallbackRepository: ...

    @property
    def mailboxes(self) -> Mailboxes: ...

    @property
    def recordings(self) -> RecordingStore: ...

    def add_cdr(self, **fields: object) -> None: ...

    def add_queue_event(self, **fields: object) -> None: ...

    def stats(self) -> dict[str, float]: ...

    def close(self) -> None: ...


@dataclass
class Parts:
    """What tests may swap in; None builds the real one."""

    store: StoreLike | None = None
    legs: LegFactory | None = None
    media: MediaEngineApi | None = None  # default: the plan's server.media.engine
    clock: Clock | None = None
    engine: AcdEngine | None = None
    http: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class Jono:
    """The running server, as :func:`build` wired it."""

    def __init__(self, plan: Dialplan, settings: Settings, config_path: str | None, parts: Parts):
        self.settings = settings
        self.config_path = config_path
        self.clock: Clock = parts.clock or (
            PinnedSchedules(settings.schedule_time) if settings.schedule_time else SystemClock()
        )
        self.tasks = TaskGroup()
        self.store: StoreLike = parts.store or Store(settings.db)
        # The location service works on wall-clock time: bindings outlive a restart.
        self.location = LocationService(store=self.store.bindings, record_events=True)
        self.registrar = Registrar(self.location)
        self.dispatch = InboundDispatch(self.registrar)
        t1 = plan.server.sip_t1_ms / 1000
        self.ua = UserAgent(
            self.dispatch, public_host=settings.public_host,
            tcp_limits=TcpLimits(**plan.server.tcp.model_dump()),
            timers=TimerConfig(t1=t1, t2=max(TimerConfig().t2, t1)),
        )
        # Built once, not per plan: failures and nonce counts outlive a reload.
        self.auth_throttle = AuthThrottle(ThrottleLimits(**plan.server.auth_throttle.model_dump()))
        self.nonce_counts = NonceCounts()
        # Browser phones' short-lived SIP credentials (issue 15); outlive a reload.
        self.phone_tokens = PhoneTokens()
        # SIP over WebSocket on the web port: "ws" or "wss" -> transport, once HTTP runs.
        self.sip_websockets: dict[str, WsTransport] = {}
        self.legs: LegFactory = parts.legs or SipLegs(self.ua)
        self.media: MediaEngineApi = parts.media or builtin_media(plan, settings)
        engine = parts.engine or AcdEngine(repository=InMemoryAgentRepository())
        self.centre = ContactCentre(engine, clock=self.clock, records=self.store)
        self.registry: CallRegistry[Call] = CallRegistry(observer=self.centre)
        self.dialer = Dialer(self.legs, self.media, self.tasks.spawn)
        self.recordings = Recordings(
            self.store.recordings, Path(settings.cache_dir) / "recordings", self.tasks.spawn
        )
        self.voice = VoiceChannel(self.centre, self.dialer, self.recordings)
        self.callbacks = CallbackChannel(
            self.centre, dialer=self.dialer, media=self.media, registry=self.registry,
            records=self.store, repository=self.store.callbacks, clock=self.clock,
            spawn=self.tasks.spawn,
        )
        self.commands = AgentCommands(self.centre)
        self.features = FeatureCodes(
            self.commands, legs=self.legs, media=self.media, registry=self.registry,
            records=self.store, spawn=self.tasks.spawn,
        )
        self.transfers = Transfers(
            dialer=self.dialer, registry=self.registry, find_dialog=self.ua.find_dialog,
            spawn=self.tasks.spawn,
        )
        self.inbound = InboundCalls(
            legs=self.legs, media=self.media, dialer=self.dialer, registry=self.registry,
            records=self.store, spawn=self.tasks.spawn, transfers=self.transfers,
        )
        mailboxes = self.store.mailboxes
        self.mwi = MessageWaiting(self.ua, lambda user: counts_of(mailboxes, user))
        self.dispatch.subscribe_handler = self.mwi.subscribe
        self.forwarding = Forwarding(mailboxes)
        self.voicemail = Voicemail(mailboxes, self.mwi.changed, Path(settings.cache_dir) / "voicemail")
        self.user_features = UserFeatures(
            self.inbound, MailboxMenu(self.voicemail, mailboxes), self.forwarding
        )
        for code in USER_FEATURES:
            self.features.others[code] = self.user_features.handle
        self.call_control = CallControl(
            self.centre, self.registry, self.transfers, self.recordings
        )
        self.personal = Personal(
            mailboxes, self.voicemail.changed, self.forwarding, self.transfers,
            self.store.recordings,
        )
        self.callouts = Callouts(
            self.centre, self.commands, dialer=self.dialer, media=self.media,
            registry=self.registry, records=self.store,
        )
        self.callback_list = CallbackList(self.centre, self.callbacks, self.callouts)
        self.dispatch.handle("feature", self.features.handle)
        self.dispatch.handle("extension", self.inbound.extension)
        self.dispatch.handle("number", self.inbound.number)
        self.dispatch.check_complete()
        self.trunk_registrations = TrunkRegistrations(self.ua)
        # One nonce secret for the process: nonces issued before a reload stay valid.
        self._nonce_secret = secrets.token_bytes(32)
        self.metrics = make_registry(self._metric_sources())
        self.control = ControlServer(self.reload)
        self.http: HttpServer | None = None
        self.web: Web | None = None  # the web workplace, once HTTP runs
        self._want_http = parts.http
        self._tls_files: TlsFiles | None = None
        self._expiry_task: asyncio.Task[None] | None = None
        self.plan = plan
        self.apply(plan)

    # -- the dial plan -----------------------------------------------------------
    def apply(self, plan: Dialplan) -> None:
        """Build what depends on the plan and swap it in; raises before any
        swap if the plan cannot run (a destination kind without a handler)."""
        settings = self.settings
        prompts = load_prompts(plan)
        announcements = Announcements(plan, prompts, Path(settings.cache_dir))
        trunks = TrunkRoutes(plan)
        directory = DeviceDirectory(plan, self.location, trunks, self.clock.now)
        runner = FlowRunner(
            plan, directory=directory, trunks=trunks, announcements=announcements,
            clock=self.clock, forwarding=self.forwarding,
        )
        runner.handle("queue", self.voice.flow_handler(announcements))
        runner.handle("voicemail", self.voicemail.deposit)
        runner.handle("callback", CallbackDialog(self.callbacks, runner))
        runner.check_complete(ACCEPTED_KINDS)
        access = Access(
            settings.realm, plan.users, plan.trunks,
            algorithms=tuple(plan.server.digest_algorithms), secret=self._nonce_secret,
            throttle=self.auth_throttle, nonce_counts=self.nonce_counts,
            phone_tokens=self.phone_tokens,
        )
        self.ua.transports.set_limits(TcpLimits(**plan.server.tcp.model_dump()))
        for moh_class in prompts.moh_classes():
            self.media.add_moh_class(moh_class, prompts.moh(moh_class))
        self.dispatch.plan = InboundPlan(
            access=access, directory=directory, feature_codes=plan.feature_codes,
            trunk_contacts=self.trunk_registrations.contact_user,
        )
        self.inbound.configure(plan, runner, prompts)
        self.transfers.configure(plan, runner, prompts)
        self.voicemail.configure(plan)
        self.mwi.configure(plan, directory)
        self.features.configure(plan, prompts)
        self.centre.configure(plan, directory)
        self.callbacks.configure(plan, announcements, trunks)
        self.trunk_registrations.configure(plan.trunks)
        self.plan = plan

    def reload(self, *, force: bool = False) -> list[str]:
        """Re-read the dial plan file; on errors keep the running plan and return them.

        A plan that would remove more than ``server.reload_max_removed_share``
        of the running users or numbers (a truncated or half-written file) is
        refused unless ``force``."""
        if self.config_path is None:
            return ["no configuration file to reload"]
        warnings: list[ConfigIssue] = []
        try:
            plan = load_config(self.config_path, warnings=warnings)
            removed = check_reload(self.plan, plan, force=force, source=self.config_path)
            self.apply(plan)
        except ConfigError as err:
            for line in str(err).splitlines():
                log.error("reload rejected", error=line)
            return str(err).splitlines()
        except (ReloadRefused, RuntimeError) as err:
            log.error("reload rejected", error=str(err))
            return [str(err)]
        for warning in warnings:
            log.warning("dial plan warning", warning=str(warning))
        log.info("reloaded", file=self.config_path, removed=[str(r) for r in removed],
                 **plan_counts(self.plan))
        return []

    def media_status(self) -> dict[str, Any]:
        return {"legs": len(self.media.legs), "ticker": self.media.ticker.stats()}

    def metrics_text(self) -> bytes:
        return exposition(self.metrics)

    def _metric_sources(self) -> Sources:
        centre = self.centre
        store = self.store

        def queues() -> list[QueueFigures]:
            if centre.plan is None:
                return []
            now = centre.now()
            out = []
            for name in sorted(centre.plan.queues):
                snap = centre.engine.queue_snapshot(name, now)
                agents = {state.value: len(ids) for state, ids in snap.agents.items()}
                out.append(QueueFigures(name, len(snap.waiting), snap.longest_wait, agents))
            return out

        return Sources(
            calls_started=lambda: dict(self.registry.started),
            calls_active=self.registry.by_kind,
            sip_responses=lambda: dict(self.ua.responses_sent),
            registrations=lambda: sum(1 for _ in self.location.all_bindings()),
            queues=queues,
            media=self.media.ticker.stats,
            media_legs=lambda: len(self.media.legs),
            store=store.stats,
        )

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        # The contact centre and the HTTP API first: the first SIP request may need them.
        self.centre.start()
        tls = self.plan.server.tls
        if tls is not None:
            hosts = (tls.listen_host, self.settings.host, self.settings.public_host or "",
                     self.plan.server.http_host)
            self._tls_files = tls_files(tls, hosts)
        if self._want_http:
            # -- the web workplace (issue 12): sign-in, pages, API, live views ---------
            host, port = self.settings.http or (
                self.plan.server.http_host, self.plan.server.http_port
            )
            self.web = build_web(self)
            # HTTPS: server.http.tls, else (server.tls.https) the SIP TLS pair.
            web_tls = self.plan.server.http.tls
            https = self._tls_files if tls is not None and tls.https else None
            pair = ((web_tls.cert, web_tls.key) if web_tls is not None
                    else (https.certificate, https.key) if https is not None else None)
            self.http = HttpServer(self.web.app, host, port, tls=pair)
            if not await self.http.start():
                # Never half started: SIP without the API the agents need.
                why = self.http.error or "the address is taken or not ours"
                self.http = None
                raise CannotListenHttp(f"cannot listen on {host}:{port} (HTTP): {why}")
            # RFC 7118: SIP over WebSocket on the web port, ws:// or wss:// as the page is served.
            kind = "wss" if self.http.scheme == "https" else "ws"
            self.sip_websockets[kind] = self.ua.add_websocket(kind, self.http.address[1])
            self.ua.flow_closed.append(self._flow_closed)
        await self.ua.start(self.settings.host, self.settings.port)
        await self._start_tls()
        try:
            await self.control.start(self.settings.host, self.ua.port)
        except OSError as err:
            log.warning("no control socket: jono reload will not find this server",
                        error=str(err))
        self.forwarding.load(list(self.plan.users))
        restored = self.location.restore(self.clock.now())
        # A WebSocket client is reachable only over the connection it registered
        # on, and no connection outlives a restart (RFC 7118 §5).
        for binding in self.location.all_bindings():
            if binding.transport in ("ws", "wss"):
                self.location.remove(binding)
                restored -= 1
        self.location.pop_events()
        callbacks = self.callbacks.restore()
        log.info(
            "jono started", plan=self.config_path, **plan_counts(self.plan),
            store=_safe_url(self.settings.db), sip=f"udp+tcp {self.settings.host}:{self.ua.port}",
            sip_tls=self.tls_address(),
            http=self.http.url if self.http is not None else None,
            sip_websocket=self._websocket_url(),
            rtp="{}-{}".format(*self.settings.rtp_ports), registrations_restored=restored,
            callbacks_waiting=callbacks,
        )
        self.trunk_registrations.start()
        self._expiry_task = asyncio.get_running_loop().create_task(self._expire_bindings())

    async def _start_tls(self) -> None:
        """SIP over TLS on its own port when the plan has ``server.tls`` (P1)."""
        tls = self.plan.server.tls
        if tls is None:
            return
        files = self._tls_files
        assert files is not None
        host, port = self.settings.tls or (tls.listen_host, tls.listen_port)
        await self.ua.transports.start_tls(host, port, files.server(), tls_client(tls))

    def _flow_closed(self, target: Target) -> None:
        """RFC 7118 §5 / RFC 5626 §5.3: a WebSocket client is reachable only over
        its connection; once that is gone its bindings go too."""
        gone = [b for b in self.location.all_bindings() if b.source == target]
        for binding in gone:
            self.location.remove(binding)
        if gone:
            self.registrar.log_changes(target)

    def _websocket_url(self) -> str | None:
        if self.http is None:
            return None
        host, port = self.http.address
        return f"{'wss' if self.http.scheme == 'https' else 'ws'}://{host}:{port}/sip"

    def tls_address(self) -> str | None:
        tls = self.plan.server.tls
        if tls is None or self.ua.transports.tls is None:
            return None
        host = self.settings.tls[0] if self.settings.tls else tls.listen_host
        return f"{host}:{self.ua.transports.port_for('tls')}"

    async def close(self) -> None:
        log.info("jono stopping", calls=len(self.registry))
        if self._expiry_task is not None:
            self._expiry_task.cancel()
        for call in self.registry:
            call.end("jono", "shutdown")
        self.mwi.close()
        await self.tasks.close()
        await self.centre.close()
        await self.control.close()
        if self.http is not None:
            await self.http.close()
        self.trunk_registrations.stop()
        self.ua.close()
        await self.media.close()
        self.store.close()

    async def _expire_bindings(self) -> None:
        while True:
            await asyncio.sleep(BINDING_EXPIRY_S)
            try:
                self.location.expire(self.clock.now())
                self.registrar.log_changes()
            except Exception:
                log.exception("binding expiry failed")


def build(
    plan: Dialplan,
    settings: Settings,
    *,
    config_path: str | None = None,
    parts: Parts | None = None,
) -> Jono:
    return Jono(plan, settings, config_path, parts or Parts())


def plan_counts(plan: Dialplan) -> dict[str, int]:
    return {
        "users": len(plan.users), "numbers": len(plan.numbers), "queues": len(plan.queues),
        "trunks": len(plan.trunks), "menus": len(plan.menus),
    }


def _safe_url(url: str) -> str:
    """A store URL without its password (secrets never in logs)."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


def load_prompts(plan: Dialplan) -> PromptLibrary:
    """System prompts, with the admin's own directory first (overrides by name)."""
    dirs = [BUNDLED_PROMPTS]
    if plan.server.prompts_dir:
        dirs.insert(0, Path(plan.server.prompts_dir))
    return _library(tuple(dirs))


@functools.lru_cache(maxsize=4)
def _library(dirs: tuple[Path, ...]) -> PromptLibrary:
    # Decoding every prompt takes ~0.6 s; a reload with the same directories reuses it.
    return PromptLibrary(list(dirs)).load_all()


class CannotListen(Exception):
    """``jono serve`` could not open its SIP or HTTP address."""


class CannotListenHttp(CannotListen, OSError):
    pass


def builtin_media(plan: Dialplan, settings: Settings) -> MediaEngine:
    """Jono's own engine (with rtpengine, the one behind it: browsers' WebRTC legs,
    prompts, music)."""
    stun = plan.server.stun_server
    return MediaEngine(
        settings.public_host or settings.host, settings.rtp_ports,
        dead_after=settings.media_dead_after,
        stun_server=split_host_port(stun) if stun else None,
    )


async def connect_media(plan: Dialplan, settings: Settings) -> MediaEngineApi:
    """The plan's media plane: Jono's own engine, or rtpengine (server.media.engine)
    with Jono's engine behind it for prompts, music and what rtpengine does not do."""
    local = builtin_media(plan, settings)
    if plan.server.media.engine != "rtpengine":
        return local
    host, port = split_host_port(plan.server.media.ng)
    try:
        return await RtpengineEngine.connect(host, port, local)
    except (NgError, OSError) as err:
        await local.close()
        raise CannotListen(f"rtpengine at {plan.server.media.ng} does not answer: {err}") from None


async def serve(
    plan: Dialplan, settings: Settings, config_path: str | None = None,
    pid_file: str | None = None,
) -> None:
    media = await connect_media(plan, settings)
    server = build(plan, settings, config_path=config_path, parts=Parts(media=media))
    try:
        await server.start()
    except CannotListenHttp as err:
        await server.close()
        raise CannotListen(str(err)) from None
    except OSError as err:  # the SIP address is taken or not ours
        await server.close()
        raise CannotListen(f"cannot listen on {settings.host}:{settings.port}: {err}") from None
    tls = server.tls_address()
    print(f"jono: listening on udp+tcp {settings.host}:{server.ua.port}"
          + (f", tls {tls}" if tls else ""), flush=True)
    if server.http is not None and server.web is not None:
        print(f"jono: web workplace on {server.http.url}", flush=True)
        hint = await server.web.first_run_hint(config_path)
        if hint:
            print(f"jono: {hint}", flush=True)
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
