"""Server-side web sessions.

The cookie carries only a random session id (256 bits); the server keeps
the session, keyed by the SHA-256 of that id, so a copy of the session
table holds no usable cookie. Why server-side rather than a signed cookie
holding the user name: a session can really end (sign-out, a password
change, an admin ending it) instead of staying valid until its signature
expires wherever the cookie was copied; the idle timeout is enforced by
the server; and nothing about the user travels in the cookie.

Each session has an absolute lifetime (``max_age``: one working day) and an
idle timeout; both are checked on every request. The CSRF token is a
second random value kept in the session (synchronizer token pattern).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from typing import Protocol


def new_secret() -> str:
    """256 random bits, URL-safe text."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The SHA-256 (hex) under which a high-entropy secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSession:
    id_hash: str
    user: str
    csrf_token: str
    created_at: float  # wall-clock seconds
    last_seen_at: float
    source: str  # address it was created from (for the admin; not enforced)

    def expired(self, now: float, *, idle_timeout: float, max_age: float) -> bool:
        return now - self.last_seen_at > idle_timeout or now - self.created_at > max_age


class SessionStore(Protocol):
    """Where sessions live. In memory for one node; SQL when several share them."""

    async def add(self, session: WebSession) -> None: ...

    async def get(self, id_hash: str) -> WebSession | None: ...

    async def touch(self, id_hash: str, when: float) -> None:
        """Set ``last_seen_at`` (callers throttle how often)."""
        ...

    async def remove(self, id_hash: str) -> None: ...

    async def remove_user(self, user: str) -> int:
        """End every session of ``user`` (password changed); how many ended."""
        ...

    async def remove_expired(self, now: float, *, idle_timeout: float, max_age: float) -> int: ...


class MemorySessions:
    """In-memory :class:`SessionStore`; bounded (oldest sessions go first)."""

    def __init__(self, max_sessions: int = 100_000) -> None:
        self._sessions: dict[str, WebSession] = {}
        self._max = max_sessions

    async def add(self, session: WebSession) -> None:
        self._sessions[session.id_hash] = session
        while len(self._sessions) > self._max:
            del self._sessions[next(iter(self._sessions))]

    async def get(self, id_hash: str) -> WebSession | None:
        return self._sessions.get(id_hash)

    async def touch(self, id_hash: str, when: float) -> None:
        session = self._sessions.get(id_hash)
        if session is not None:
            self._sessions[id_hash] = dataclasses.replace(session, last_seen_at=when)

    async def remove(self, id_hash: str) -> None:
        self._sessions.pop(id_hash, None)

    async def remove_user(self, user: str) -> int:
        gone = [k for k, s in self._sessions.items() if s.user == user]
        for key in gone:
            del self._sessions[key]
        return len(gone)

    async def remove_expired(self, now: float, *, idle_timeout: float, max_age: float) -> int:
        gone = [
            k
            for k, s in self._sessions.items()
            if s.expired(now, idle_timeout=idle_timeout, max_age=max_age)
        ]
        for key in gone:
            del self._sessions[key]
        return len(gone)


def new_session(user: str, source: str, now: float) -> tuple[str, WebSession]:
    """A fresh session: (the cookie value, what the server keeps)."""
    session_id = new_secret()
    session = WebSession(
        id_hash=digest(session_id),
        user=user,
        csrf_token=new_secret(),
        created_at=now,
        last_seen_at=now,
        source=source,
    )
    return session_id, session
