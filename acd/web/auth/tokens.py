"""API (bearer) tokens for integrations: issue, check, list, revoke.

A token reads ``jono_<id>.<secret>``: the id is public (lists, revoking, the
log), the secret is 256 random bits. Only the SHA-256 of the whole token is
stored; the token is shown once, when it is issued. A fast hash is right
here (unlike passwords): the secret is random, not something a person chose.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from acd.web.auth.policy import parse_role
from acd.web.auth.repository import AccountRepository, ApiToken
from acd.web.auth.sessions import digest

_FORMAT = re.compile(r"jono_([0-9a-f]{12})\.([A-Za-z0-9_-]{43})")
MAX_NAME = 100
TOUCH_INTERVAL = 60.0  # seconds between last_used_at writes for one token


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def looks_like_token(text: str) -> bool:
    return _FORMAT.fullmatch(text) is not None


async def issue_token(
    repo: AccountRepository, *, owner: str, name: str, role: str, now: float
) -> tuple[str, ApiToken]:
    """A new token: (the secret text to show once, what is stored)."""
    parse_role(role)
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"token name must have 1 to {MAX_NAME} characters")
    token_id = secrets.token_hex(6)
    text = f"jono_{token_id}.{secrets.token_urlsafe(32)}"
    token = ApiToken(
        token_id=token_id,
        token_hash=digest(text),
        name=name,
        owner=owner,
        role=role,
        created_at=utc(now),
    )
    await repo.add_token(token)
    return text, token


async def check_token(repo: AccountRepository, text: str, now: float) -> ApiToken | None:
    """The active token this text is, or None (malformed, unknown, revoked)."""
    if not looks_like_token(text):
        return None
    token = await repo.find_token(digest(text))
    if token is None or not token.active:
        return None
    last = token.last_used_at
    if last is None or now - last.timestamp() >= TOUCH_INTERVAL:
        await repo.touch_token(token.token_id, utc(now))
    return token


async def tokens_of(repo: AccountRepository, owner: str | None) -> Sequence[ApiToken]:
    return await repo.list_tokens(owner)


def describe(token: ApiToken) -> dict[str, str | None]:
    """What a token list shows: never the hash."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": token.token_id,
        "name": token.name,
        "owner": token.owner,
        "role": token.role,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
    }
