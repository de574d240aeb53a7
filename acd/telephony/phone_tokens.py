"""Short-lived SIP credentials for the browser phone of a signed-in user (issue 15).

The agent desktop never shows, nor even holds, the user's SIP password: it
asks its web session for a phone token and gives SIP.js the token's
authorisation name (``alice~k3j2m9qa``) and secret.  Digest authentication
(RFC 8760) then works as for any phone: :meth:`PhoneTokens.credentials`
is the lookup :class:`~acd.telephony.access.Access` consults for a name of
that shape, and the authenticated user is the token's owner.

A token lives ``ttl`` seconds (the page renews it well before); signing out
revokes the session's tokens.  Tokens live in memory only: after a restart
the page asks again.  The secret is never logged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

SEPARATOR = "~"
DEFAULT_TTL_S = 900.0  # the page renews at half-life; a stolen one is short-lived
MAX_PER_USER = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneToken:
    user: str
    auth_name: str  # what goes in the Authorization username
    secret: str
    expires_at: float
    session: str | None = None

    def __repr__(self) -> str:  # never the secret
        return f"PhoneToken(user={self.user!r}, auth_name={self.auth_name!r}, expires_at={self.expires_at})"


class PhoneTokens:
    def __init__(self, ttl: float = DEFAULT_TTL_S) -> None:
        self.ttl = ttl
        self._by_name: dict[str, PhoneToken] = {}

    def issue(self, user: str, now: float, *, session: str | None = None) -> PhoneToken:
        """A new token for ``user`` (the oldest of theirs dropped beyond MAX_PER_USER)."""
        self._expire(now)
        mine = sorted((t for t in self._by_name.values() if t.user == user),
                      key=lambda t: t.expires_at)
        for old in mine[: max(0, len(mine) - MAX_PER_USER + 1)]:
            self._by_name.pop(old.auth_name, None)
        token = PhoneToken(
            user=user, auth_name=f"{user}{SEPARATOR}{secrets.token_hex(4)}",
            secret=secrets.token_urlsafe(24), expires_at=now + self.ttl, session=session,
        )
        self._by_name[token.auth_name] = token
        return token

    def lookup(self, auth_name: str, now: float) -> PhoneToken | None:
        token = self._by_name.get(auth_name)
        if token is None or token.expires_at <= now:
            return None
        return token

    def revoke_session(self, session: str) -> None:
        gone = [name for name, t in self._by_name.items() if t.session == session]
        for name in gone:
            del self._by_name[name]

    def _expire(self, now: float) -> None:
        for name in [n for n, t in self._by_name.items() if t.expires_at <= now]:
            del self._by_name[name]

    @staticmethod
    def is_token_name(name: str) -> bool:
        return SEPARATOR in name
