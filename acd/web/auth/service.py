"""WebAuth: the one object the web app holds for sign-in, sessions and tokens.

The middleware asks it who a request is (:meth:`WebAuth.identify`); the
sign-in routes ask it to check a password (:meth:`WebAuth.sign_in`). Role
data comes from a callable (``user -> UserRoles | None``) so that a plan
reload changes what people may do at their next request; a user who has no
web roles (or left the plan) cannot sign in and their sessions stop working.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from acd.web.auth.client import ClientInfo, Network, parse_networks
from acd.web.auth.passwords import PasswordHasher
from acd.web.auth.policy import Principal, UserRoles, session_principal, token_principal
from acd.web.auth.repository import AccountRepository
from acd.web.auth.sessions import MemorySessions, SessionStore, WebSession, digest, new_session
from acd.web.auth.settings import AuthSettings
from acd.web.auth.throttle import LoginThrottle
from acd.web.auth.tokens import check_token

log = logging.getLogger("jono.auth")

RolesOf = Callable[[str], UserRoles | None]
SESSION_TOUCH_INTERVAL = 30.0
PURGE_INTERVAL = 300.0


def shown(user: str) -> str:
    """A user name as the log shows it: quoted, control characters escaped, cut short."""
    return repr(user[:64])


class SignInResult(Enum):
    OK = "ok"
    REFUSED = "refused"  # wrong password, unknown user, no web role: one answer
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignIn:
    result: SignInResult
    cookie_value: str = ""  # the session id, only when OK
    retry_after: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    principal: Principal
    session: WebSession | None  # None for a token


class WebAuth:
    def __init__(
        self,
        *,
        accounts: AccountRepository,
        roles: RolesOf,
        settings: AuthSettings | None = None,
        sessions: SessionStore | None = None,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or AuthSettings()
        self.accounts = accounts
        self.roles = roles
        self.sessions: SessionStore = sessions if sessions is not None else MemorySessions()
        self.hasher = hasher or PasswordHasher()
        self.clock = clock
        self.throttle = LoginThrottle(self.settings.throttle)
        self.trusted_proxies: tuple[Network, ...] = parse_networks(self.settings.trusted_proxies)
        self._purged_at = float("-inf")
        # Called with a session's id_hash when it ends here (sign-out, expiry, roles
        # gone): what was handed out on its strength ends too (browser phone tokens).
        self.session_ended: list[Callable[[str], None]] = []

    # -- sign-in ---------------------------------------------------------

    async def sign_in(self, user: str, password: str, client: ClientInfo) -> SignIn:
        """Check a password; on success a new session (never a reused id)."""
        now = self.clock()
        source = client.address
        decision = self.throttle.check(source, user, now)
        if not decision.allowed:
            log.warning(
                "login throttled: user=%s source=%s limit=%s",
                shown(user),
                source,
                decision.key.split(":", 1)[0],
            )
            return SignIn(result=SignInResult.THROTTLED, retry_after=decision.retry_after)
        # The same steps whether or not the user exists: look-up, one argon2 check.
        roles = self.roles(user) if user else None
        stored = await self.accounts.get_password_hash(user) if user else None
        matched = await self.hasher.verify_async(stored if roles else None, password)
        if not matched or roles is None:
            self.throttle.failed(source, user, now)
            reason = "unknown_user" if roles is None or stored is None else "bad_password"
            log.warning("login failed: user=%s source=%s reason=%s", shown(user), source, reason)
            return SignIn(result=SignInResult.REFUSED)
        self.throttle.succeeded(user)
        if stored is not None and self.hasher.needs_rehash(stored):
            await self.accounts.set_password_hash(user, await self.hasher.hash_async(password))
        cookie_value, session = new_session(user, source, now)
        await self._purge_expired(now)
        await self.sessions.add(session)
        log.info("login: user=%s source=%s", shown(user), source)
        return SignIn(result=SignInResult.OK, cookie_value=cookie_value)

    async def _purge_expired(self, now: float) -> None:
        """Drop expired sessions now and then (each sign-in, at most every few minutes)."""
        if now - self._purged_at < PURGE_INTERVAL:
            return
        self._purged_at = now
        s = self.settings
        await self.sessions.remove_expired(
            now, idle_timeout=s.session_idle_timeout, max_age=s.session_max_age
        )

    async def sign_out(self, session: WebSession, client: ClientInfo) -> None:
        await self.sessions.remove(session.id_hash)
        self._ended(session.id_hash)
        log.info("logout: user=%s source=%s", shown(session.user), client.address)

    def _ended(self, id_hash: str) -> None:
        for listener in self.session_ended:
            listener(id_hash)

    # -- who is this request --------------------------------------------

    async def from_session(self, cookie_value: str) -> Identity | None:
        session = await self.sessions.get(digest(cookie_value))
        if session is None:
            return None
        now = self.clock()
        s = self.settings
        if session.expired(now, idle_timeout=s.session_idle_timeout, max_age=s.session_max_age):
            await self.sessions.remove(session.id_hash)
            self._ended(session.id_hash)
            return None
        roles = self.roles(session.user)
        if roles is None:
            await self.sessions.remove(session.id_hash)
            self._ended(session.id_hash)
            return None
        if now - session.last_seen_at >= SESSION_TOUCH_INTERVAL:
            await self.sessions.touch(session.id_hash, now)
        return Identity(principal=session_principal(session.user, roles), session=session)

    async def from_token(self, text: str, client: ClientInfo) -> Identity | None:
        token = await check_token(self.accounts, text, self.clock())
        if token is None:
            log.warning("token refused: source=%s", client.address)
            return None
        roles = self.roles(token.owner)
        if roles is None:
            log.warning("token refused: id=%s owner has no web roles", token.token_id)
            return None
        principal = token_principal(token.owner, roles, token.role, token.token_id)
        return Identity(principal=principal, session=None)
