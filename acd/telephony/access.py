"""Who is calling: trunks by source address, phones by digest authentication.

Trunks are recognised by the address (and, when the plan gives one, the
port) their packets come from and are not challenged (P2) - unless the
request carries credentials of one of the plan's users: then it is that
user, proved by digest like any phone (issue 11: phones on the same host as
a test provider).  Phones prove who they are with digest (RFC 8760) on
REGISTER and INVITE; an unknown user and a wrong password get the very same
401, so nobody can probe which users exist.

Password guessing (issue 10): every failed answer is logged on "jono.auth"
in one line, ``auth failed: source=HOST port=PORT user="NAME" method=M
reason=...`` (for fail2ban; see docs/fail2ban/), and counted by the
:class:`~sip.auth.AuthThrottle`; once a source or a username has failed
too often, requests get 403 without their password being looked at, the
same for existing and unknown users.  The throttle and the nonce-count
table survive a reload when the application passes the same ones in.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from acd.config.types import IpNet, parse_source
from acd.telephony.phone_tokens import PhoneTokens
from sip.auth import AuthThrottle, Credentials, DigestAuthenticator, NonceCounts, parse_digest
from sip.errors import SipError
from sip.message import Request
from sip.transport import Target
from sip.ua import UserAgent

auth_log = logging.getLogger("jono.auth")


@dataclass(frozen=True, slots=True)
class Caller:
    kind: str  # "user" or "trunk"
    name: str


class Access:
    def __init__(
        self,
        realm: str,
        users: Mapping[str, object],
        trunks: Mapping[str, object],
        algorithms: tuple[str, ...] = ("MD5",),
        secret: bytes | None = None,
        *,
        throttle: AuthThrottle | None = None,
        nonce_counts: NonceCounts | None = None,
        phone_tokens: PhoneTokens | None = None,
    ) -> None:
        self.realm = realm
        self.secret = secret or secrets.token_bytes(32)
        self.auth = DigestAuthenticator(
            realm, self.secret, algorithms=algorithms, nonce_counts=nonce_counts
        )
        self.throttle = throttle or AuthThrottle()
        self.users = users
        self.phone_tokens = phone_tokens
        self._now = 0.0
        self._credentials: dict[str, Credentials] = {}
        for name, user in users.items():
            password = getattr(user, "password", None)
            ha1 = getattr(user, "password_ha1", None)
            self._credentials[name] = Credentials(password=password, ha1=dict(ha1 or {}))
        self._by_source: dict[tuple[str, int], str | None] = {}
        self._trunk_nets: list[tuple[IpNet, int | None, str]] = []
        for name, trunk in trunks.items():
            for source in getattr(trunk, "inbound_sources", ()) or ():
                network, port = parse_source(source)
                self._trunk_nets.append((network, port, name))

    def trunk_for(self, source: Target) -> str | None:
        key = (source.host, source.port)
        cached = self._by_source.get(key, "")
        if cached != "":
            return cached
        try:
            addr = ipaddress.ip_address(source.host)
        except ValueError:
            return None
        found = next(
            (name for net, port, name in self._trunk_nets
             if addr in net and (port is None or port == source.port)),
            None,
        )  # fmt: skip
        if len(self._by_source) < 10000:
            self._by_source[key] = found
        return found

    def _lookup(self, username: str) -> Credentials | None:
        found = self._credentials.get(username)
        if found is None and self.phone_tokens is not None and PhoneTokens.is_token_name(username):
            # A browser phone's token (acd.telephony.phone_tokens): its secret is the password.
            token = self.phone_tokens.lookup(username, self._now)
            if token is not None and token.user in self._credentials:
                return Credentials(password=token.secret)
        return found

    def _owner(self, username: str) -> str:
        """The user an authenticated name stands for (a phone token's owner)."""
        if username in self._credentials or self.phone_tokens is None:
            return username
        token = self.phone_tokens.lookup(username, self._now)
        return token.user if token is not None else username

    def authenticate(
        self, ua: UserAgent, request: Request, txn: object, now: float,
        *, source: Target | None = None,
    ) -> str | None:
        """The authenticated username, or None after answering 401 (§22.2) or,
        while the source or the claimed user is throttled, 403.

        ``source`` is where the request came from; without it, the top Via's
        ``received``/``rport`` (stamped by the user agent) or sent-by is used."""
        header = request.headers.get("Authorization")
        host, port = _source(request, source)
        claimed = _claimed_user(header)
        refusal = self.throttle.check(host, claimed, now)
        if refusal is not None:
            ua.respond(txn, request, 403)
            return None
        self._now = now
        result = self.auth.verify(request.method, header, self._lookup, now)
        if result.ok and result.username is not None:
            self.throttle.succeeded(host, result.username, now)
            return self._owner(result.username)
        if header is not None and not result.stale:
            auth_log.warning(
                "auth failed: source=%s port=%s user=%s method=%s reason=%s",
                host, port, _quoted(claimed), request.method, result.reason[:200],
            )  # fmt: skip
            started = self.throttle.failed(host, claimed, now)
            if started is not None:
                auth_log.warning(
                    "auth throttled: source=%s port=%s user=%s by=%s: 403 for about %.0f s",
                    host, port, _quoted(claimed), started.by, started.retry_after,
                )  # fmt: skip
        challenges = self.auth.challenge(now, stale=result.stale)
        ua.respond(
            txn, request, 401,
            headers=tuple(("WWW-Authenticate", c) for c in challenges),
        )
        return None

    def identify(
        self, ua: UserAgent, request: Request, txn: object, source: Target, now: float
    ) -> Caller | None:
        trunk = self.trunk_for(source)
        if trunk is not None and _claimed_user(request.headers.get("Authorization")) not in (
            self._credentials
        ):
            return Caller("trunk", trunk)
        user = self.authenticate(ua, request, txn, now, source=source)
        return Caller("user", user) if user is not None else None


def _claimed_user(header: str | None) -> str | None:
    """The username an Authorization value claims, unverified; None if there is none."""
    if header is None:
        return None
    try:
        return parse_digest(header).get("username")
    except SipError:
        return None


def _source(request: Request, source: Target | None) -> tuple[str, int | str]:
    if source is not None:
        return source.host, source.port
    try:
        via = request.top_via
    except SipError:
        return "unknown", "-"
    host = str(via.params.get("received") or via.host)
    rport = via.params.get("rport")
    return host, int(rport) if rport and rport.isdigit() else (via.port or 5060)


def _quoted(name: str | None) -> str:
    """A claimed username for the log: quoted, escaped (no line breaks), bounded."""
    return json.dumps(name[:64] if name is not None else "")
