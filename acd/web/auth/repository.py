"""Where web passwords and API tokens live: a small async repository interface.

The SQL implementation belongs to the store package; :class:`MemoryAccounts`
is the reference implementation and the one the tests use. Rules every
implementation keeps:

- Password hashes are stored as given (encoded argon2id strings); the
  repository never sees a password.
- Tokens are stored by the SHA-256 of their secret (``token_hash``, 64 hex
  characters, unique); the secret itself is never stored.
- Times are timezone-aware UTC datetimes.
- A revoked token stays listed (with ``revoked_at``) but ``find_token``
  still returns it: the caller refuses it. Revoking twice is a no-op.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    """A bearer token as stored: everything but the secret."""

    token_id: str  # public, short, unique: shown in lists, used to revoke
    token_hash: str  # sha256 hex of the secret; unique
    name: str  # what the owner calls it ("wallboard TV", "CRM")
    owner: str  # the Jono user it acts for
    role: str  # the most it may do: "agent", "supervisor" or "admin"
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AccountRepository(Protocol):
    """Web passwords and API tokens. All methods may do I/O."""

    async def get_password_hash(self, user: str) -> str | None:
        """The stored hash, or None when the user has no web password."""
        ...

    async def set_password_hash(self, user: str, password_hash: str) -> None:
        """Create or replace the user's web password hash."""
        ...

    async def add_token(self, token: ApiToken) -> None:
        """Store a new token; ``token_id`` and ``token_hash`` are new and unique."""
        ...

    async def find_token(self, token_hash: str) -> ApiToken | None:
        """The token with this hash, revoked or not; None when there is none."""
        ...

    async def list_tokens(self, owner: str | None = None) -> Sequence[ApiToken]:
        """Every token (of ``owner`` when given), oldest first, revoked ones included."""
        ...

    async def revoke_token(self, token_id: str, when: datetime) -> bool:
        """Set ``revoked_at`` once; False when no such token (already revoked: True)."""
        ...

    async def touch_token(self, token_id: str, when: datetime) -> None:
        """Record a use: set ``last_used_at`` (callers throttle how often they call this)."""
        ...


class MemoryAccounts:
    """In-memory :class:`AccountRepository` for tests and for a store-less run."""

    def __init__(self) -> None:
        self._passwords: dict[str, str] = {}
        self._tokens: dict[str, ApiToken] = {}  # by token_id, insertion order

    async def get_password_hash(self, user: str) -> str | None:
        return self._passwords.get(user)

    async def set_password_hash(self, user: str, password_hash: str) -> None:
        self._passwords[user] = password_hash

    async def add_token(self, token: ApiToken) -> None:
        if token.token_id in self._tokens:
            raise ValueError(f"token id {token.token_id!r} exists")
        if any(t.token_hash == token.token_hash for t in self._tokens.values()):
            raise ValueError("token hash exists")
        self._tokens[token.token_id] = token

    async def find_token(self, token_hash: str) -> ApiToken | None:
        for token in self._tokens.values():
            if token.token_hash == token_hash:
                return token
        return None

    async def list_tokens(self, owner: str | None = None) -> Sequence[ApiToken]:
        return [t for t in self._tokens.values() if owner is None or t.owner == owner]

    async def revoke_token(self, token_id: str, when: datetime) -> bool:
        token = self._tokens.get(token_id)
        if token is None:
            return False
        if token.revoked_at is None:
            self._tokens[token_id] = dataclasses.replace(token, revoked_at=when)
        return True

    async def touch_token(self, token_id: str, when: datetime) -> None:
        token = self._tokens.get(token_id)
        if token is not None:
            self._tokens[token_id] = dataclasses.replace(token, last_used_at=when)
