"""Web passwords: argon2id hashes, checked in constant time for every user name.

An unknown user name is checked against a dummy hash made with the same
parameters, so "no such user" costs the same time as "wrong password" and
the caller gives the same answer for both. Hashing and checking cost tens
of milliseconds of CPU on purpose: callers on the event loop run them in a
thread (:meth:`PasswordHasher.verify_async`).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # bounds the work a login request can ask for


class PasswordPolicyError(ValueError):
    """The new password is not acceptable; the message says why (never the password)."""


def check_new_password(user: str, password: str) -> None:
    """Raise :class:`PasswordPolicyError` when ``password`` is too weak to store."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"the password must have at most {MAX_LENGTH} characters")
    if password.strip().casefold() == user.strip().casefold():
        raise PasswordPolicyError("the password must not be the user name")


@dataclass(frozen=True, slots=True, kw_only=True)
class HashParameters:
    """argon2id cost. The defaults are RFC 9106's second recommended option."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4


# For tests only: the same algorithm at a cost that keeps a test suite fast.
FAST_TEST_PARAMETERS = HashParameters(time_cost=1, memory_cost_kib=8, parallelism=1)


class PasswordHasher:
    def __init__(self, parameters: HashParameters | None = None) -> None:
        p = parameters or HashParameters()
        self._argon2 = argon2.PasswordHasher(
            time_cost=p.time_cost,
            memory_cost=p.memory_cost_kib,
            parallelism=p.parallelism,
            type=argon2.Type.ID,
        )
        # Verified against when the user has no password: same cost, never matches
        # anything a client can send (the secret is thrown away).
        self._dummy = self._argon2.hash(secrets.token_urlsafe(32))

    def hash(self, password: str) -> str:
        """The encoded argon2id hash (``$argon2id$v=19$m=...``) to store."""
        return self._argon2.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; an absent or broken hash costs the same and is False."""
        if len(password) > MAX_LENGTH:
            password = password[:MAX_LENGTH]  # still do the work: same timing
            stored_hash = None
        target = stored_hash if stored_hash else self._dummy
        try:
            matched = self._argon2.verify(target, password)
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError):
            if target is not self._dummy:
                # A corrupt stored hash: spend the same time, then refuse.
                self._verify_dummy(password)
            return False
        return bool(matched) and target is not self._dummy

    def _verify_dummy(self, password: str) -> None:
        try:
            self._argon2.verify(self._dummy, password)
        except VerificationError:
            pass

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the stored hash was made with other parameters than ours."""
        try:
            return self._argon2.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    async def verify_async(self, stored_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self.verify, stored_hash, password)

    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)
