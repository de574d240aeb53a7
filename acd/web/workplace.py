"""Assembling the web workplace from the running server's parts (called by
the composition root, acd.bootstrap, in its one web block).

The sign-in (:class:`~acd.web.auth.WebAuth`) keeps web passwords and API
tokens in the store (:class:`~acd.store.accounts.SqlAccounts`; in memory
when the store is a test's fake) and reads roles from the running plan.
Site settings come from ``server.http``: the host names accepted are
loopback, the listen address, ``public_host`` and ``allowed_hosts``; proxies
and extra origins as configured. They are read at start: a change needs a
restart, like the listen address.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog
from starlette.applications import Starlette

from acd.calls.call import Call
from acd.calls.registry import CallRegistry
from acd.config import Dialplan, Server
from acd.contact.agents import AgentCommands
from acd.contact.call_control import CallControl
from acd.contact.callback_list import CallbackList
from acd.contact.callout import Callouts
from acd.contact.centre import ContactCentre
from acd.contact.channels.voice import VoiceChannel
from acd.contact.personal import Personal
from acd.store import Store
from acd.store.accounts import SqlAccounts
from acd.store.recent import RecentCall, queue_steps_since, recent_calls
from acd.telephony.phone_tokens import PhoneTokens
from acd.web.access import roles_from
from acd.web.app import build_app
from acd.web.auth import (
    AccountRepository,
    AuthSettings,
    MemoryAccounts,
    PasswordHasher,
    WebAuth,
)
from acd.web.contacts import Directory
from acd.web.live import LiveView
from acd.web.services import WebServices
from acd.web.sip_socket import PATH as SIP_WEBSOCKET_PATH
from acd.web.today import Today
from sip.transport_ws import WsTransport

log = structlog.stdlib.get_logger("jono.web")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::", "")


class RunningServer(Protocol):
    """What the workplace needs of the running server (acd.bootstrap.Jono)."""

    plan: Dialplan
    config_path: str | None
    store: Any
    centre: ContactCentre
    commands: AgentCommands
    registry: CallRegistry[Call]
    voice: VoiceChannel
    callouts: Callouts
    phone_tokens: PhoneTokens
    sip_websockets: dict[str, WsTransport]
    call_control: CallControl
    personal: Personal
    callback_list: CallbackList

    def reload(self) -> list[str]: ...

    def media_status(self) -> dict[str, Any]: ...

    def metrics_text(self) -> bytes: ...


@dataclass
class Web:
    app: Starlette
    services: WebServices
    accounts: AccountRepository

    @property
    def auth(self) -> WebAuth:
        return self.services.auth

    async def first_run_hint(self, config_path: str | None) -> str | None:
        """What to tell the admin at start when nobody can sign in yet."""
        if not isinstance(self.accounts, SqlAccounts):
            return None
        plan = self.services.centre.plan
        if plan is None:
            return None
        web_users = sorted(name for name, user in plan.users.items() if user.roles)
        if not web_users or await self.accounts.users_with_password() & set(web_users):
            return None
        admins = [n for n in web_users if "admin" in plan.users[n].roles] or web_users
        program = sys.argv[0] if Path(sys.argv[0]).name == "jono" else "jono"
        return (
            "nobody can sign in to the web yet: set a web password first, e.g. "
            f"`{program} passwd {config_path or 'PLAN'} {admins[0]}` (it works while Jono runs)"
        )


def auth_settings(server: Server) -> AuthSettings:
    http = server.http
    hosts = list(LOOPBACK_HOSTS)
    for extra in (server.http_host, server.public_host, *http.allowed_hosts):
        if extra and extra not in WILDCARDS and extra.lower() not in hosts:
            hosts.append(extra.lower())
    return AuthSettings(
        allowed_hosts=tuple(hosts),
        trusted_proxies=tuple(http.trusted_proxies),
        trusted_origins=tuple(o.rstrip("/") for o in http.trusted_origins),
        # SIP over WebSocket answers without a web session, like the SIP ports:
        # SIP digest authenticates every REGISTER and call over it (issue 15).
        public_paths=AuthSettings().public_paths | {SIP_WEBSOCKET_PATH},
    )


def build_web(
    server: RunningServer,
    *,
    clock: Callable[[], float] = time.time,
    hasher: PasswordHasher | None = None,
) -> Web:
    plan = server.plan
    store = server.store if isinstance(server.store, Store) else None
    accounts: AccountRepository = (
        SqlAccounts(store.sessions) if store is not None else MemoryAccounts()
    )
    centre = server.centre
    auth = WebAuth(
        accounts=accounts, roles=roles_from(lambda: centre.plan),
        settings=auth_settings(plan.server), clock=clock, hasher=hasher,
    )
    # A browser phone's SIP credentials end with the session that asked for them.
    auth.session_ended.append(server.phone_tokens.revoke_session)
    today = Today(plan.server.timezone, plan.server.desktop.service_level)
    if store is not None:
        now = centre.now()
        steps = queue_steps_since(store.sessions, today.start_of_day(now))
        today.load(((s.kind, s.queue, s.agent, s.wait) for s in steps), now)
    live = LiveView(
        centre, server.registry, server.voice, server.callouts, today, server.call_control
    )
    base = Path(server.config_path).resolve().parent if server.config_path else Path(".")
    recent = None
    if store is not None:
        sessions = store.sessions

        async def recent(user: str, extension: str) -> list[RecentCall]:
            return await asyncio.to_thread(recent_calls, sessions, user, extension)

    services = WebServices(
        centre=centre, commands=server.commands, reload=server.reload,
        media_status=server.media_status, auth=auth, live=live, callouts=server.callouts,
        registry=server.registry, contacts=Directory(base), recent=recent,
        metrics=server.metrics_text, callbacks=server.callback_list,
        phone_tokens=server.phone_tokens, sip_websockets=server.sip_websockets,
        control=server.call_control, personal=server.personal,
    )
    return Web(app=build_app(services), services=services, accounts=accounts)
