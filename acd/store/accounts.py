"""Web passwords and API tokens in the store: the SQL :class:`AccountRepository`.

The rules are those of :mod:`acd.web.auth.repository` (its ``MemoryAccounts``
is the reference): hashes only, tokens by the SHA-256 of their secret,
aware UTC times, revoked tokens still listed. Every method runs its short
unit of work in a worker thread, so the event loop never waits for the disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from acd.store.tables import ApiTokenRow, WebPasswordRow
from acd.web.auth.repository import ApiToken

T = TypeVar("T")


def aware(value: datetime | None) -> datetime | None:
    """SQLite gives times back without their zone: they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _token(row: ApiTokenRow) -> ApiToken:
    created = aware(row.created_at)
    assert created is not None
    return ApiToken(
        token_id=row.token_id,
        token_hash=row.token_hash,
        name=row.name,
        owner=row.owner,
        role=row.role,
        created_at=created,
        last_used_at=aware(row.last_used_at),
        revoked_at=aware(row.revoked_at),
    )


class SqlAccounts:
    """:class:`acd.web.auth.AccountRepository` over the store's tables."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    async def _run(self, work: Callable[[Session], T]) -> T:
        def unit() -> T:
            with self.sessions.begin() as session:
                return work(session)

        return await asyncio.to_thread(unit)

    async def get_password_hash(self, user: str) -> str | None:
        def work(session: Session) -> str | None:
            row = session.get(WebPasswordRow, user)
            return row.password_hash if row is not None else None

        return await self._run(work)

    async def set_password_hash(self, user: str, password_hash: str) -> None:
        def work(session: Session) -> None:
            row = session.get(WebPasswordRow, user)
            now = datetime.now(UTC)
            if row is None:
                session.add(WebPasswordRow(user=user, password_hash=password_hash, updated_at=now))
            else:
                row.password_hash = password_hash
                row.updated_at = now

        await self._run(work)

    async def users_with_password(self) -> set[str]:
        """Who has a web password (for the start-up hint; never the hashes)."""

        def work(session: Session) -> set[str]:
            return set(session.scalars(select(WebPasswordRow.user)))

        return await self._run(work)

    async def add_token(self, token: ApiToken) -> None:
        def work(session: Session) -> None:
            session.add(
                ApiTokenRow(
                    token_id=token.token_id,
                    token_hash=token.token_hash,
                    name=token.name,
                    owner=token.owner,
                    role=token.role,
                    created_at=token.created_at,
                    last_used_at=token.last_used_at,
                    revoked_at=token.revoked_at,
                )
            )

        try:
            await self._run(work)
        except IntegrityError:
            raise ValueError(f"token {token.token_id!r} or its hash exists") from None

    async def find_token(self, token_hash: str) -> ApiToken | None:
        def work(session: Session) -> ApiToken | None:
            row = session.scalars(
                select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash)
            ).first()
            return _token(row) if row is not None else None

        return await self._run(work)

    async def list_tokens(self, owner: str | None = None) -> Sequence[ApiToken]:
        def work(session: Session) -> list[ApiToken]:
            query = select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.token_id)
            if owner is not None:
                query = query.where(ApiTokenRow.owner == owner)
            return [_token(row) for row in session.scalars(query)]

        return await self._run(work)

    async def revoke_token(self, token_id: str, when: datetime) -> bool:
        def work(session: Session) -> bool:
            row = session.get(ApiTokenRow, token_id)
            if row is None:
                return False
            if row.revoked_at is None:
                row.revoked_at = when
            return True

        return await self._run(work)

    async def touch_token(self, token_id: str, when: datetime) -> None:
        def work(session: Session) -> None:
            session.execute(
                update(ApiTokenRow).where(ApiTokenRow.token_id == token_id).values(last_used_at=when)
            )

        await self._run(work)
