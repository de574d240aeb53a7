"""Who is calling: trunks by source address, phones by digest authentication.

Trunks are recognised by the address their packets come from and are not
challenged (P2).  Phones prove who they are with digest (RFC 8760) on
REGISTER and INVITE; an unknown user and a wrong password get the very same
401, so nobody can probe which users exist.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sip.auth import Credentials, DigestAuthenticator
from sip.message import Request
from sip.transport import Target
from sip.ua import UserAgent


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
        algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
        secret: bytes | None = None,
    ) -> None:
        self.realm = realm
        self.secret = secret or secrets.token_bytes(32)
        self.auth = DigestAuthenticator(realm, self.secret, algorithms=algorithms)
        self.users = users
        self._credentials: dict[str, Credentials] = {}
        for name, user in users.items():
            password = getattr(user, "password", None)
            ha1 = getattr(user, "password_ha1", None)
            self._credentials[name] = Credentials(password=password, ha1=dict(ha1 or {}))
        self._by_host: dict[str, str | None] = {}
        self._trunk_nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = []
        for name, trunk in trunks.items():
            for source in getattr(trunk, "inbound_sources", ()) or ():
                self._trunk_nets.append((ipaddress.ip_network(source, strict=False), name))

    def trunk_for(self, source: Target) -> str | None:
        cached = self._by_host.get(source.host, "")
        if cached != "":
            return cached
        try:
            addr = ipaddress.ip_address(source.host)
        except ValueError:
            return None
        found = next((name for net, name in self._trunk_nets if addr in net), None)
        if len(self._by_host) < 10000:
            self._by_host[source.host] = found
        return found

    def _lookup(self, username: str) -> Credentials | None:
        return self._credentials.get(username)

    def authenticate(
        self, ua: UserAgent, request: Request, txn: object, now: float
    ) -> str | None:
        """The authenticated username, or None after answering 401 (§22.2)."""
        header = request.headers.get("Authorization")
        result = self.auth.verify(request.method, header, self._lookup, now)
        if result.ok and result.username is not None:
            return result.username
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
        if trunk is not None:
            return Caller("trunk", trunk)
        user = self.authenticate(ua, request, txn, now)
        return Caller("user", user) if user is not None else None
