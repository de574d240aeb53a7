"""Slowing password guessing: a per-source and per-user failure throttle, sans-I/O.

Theory of operation
-------------------
Every failed digest answer (wrong password, unknown user, a nonce that is
not ours or already failed) is counted twice: against the address it came
from and against the username it claimed.  Each count is a leaky bucket
that holds ``per_source`` (or ``per_user``) failures and drains at that
many per ``window`` seconds: once full, one more attempt is let through each
``window / per_source`` seconds.  While a bucket is full, requests from that
source (or for that user) are refused without looking at the password, so
a guesser gets about ``per_source / window`` guesses per second however fast
it sends, and a spread-out guesser gets ``per_user / window`` per user.

Unknown and existing usernames are counted the same way, so the throttle
tells nothing about which users exist.  Per-user blocking would let anyone
lock a user out; to blunt that, an address that has authenticated as a user
(``succeeded``) is remembered, and the per-user bucket neither counts nor
blocks that user from that address (the per-source bucket still applies).

Every table is a bounded LRU (``max_tracked`` entries), so a flood of
addresses or usernames cannot grow memory without limit.  The clock is
passed in; nothing here logs or sleeps.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottleLimits:
    per_source: int = 10
    per_user: int = 20
    window: float = 60.0
    max_tracked: int = 10000

    def __post_init__(self) -> None:
        if self.per_source < 1 or self.per_user < 1 or self.max_tracked < 1:
            raise ValueError(f"throttle counts must be >= 1: {self!r}")
        if not self.window > 0:
            raise ValueError(f"throttle window {self.window} must be > 0")


class _Buckets:
    """Leaky buckets by key: ``level`` failures at time ``t``."""

    def __init__(self, capacity: int, window: float, max_tracked: int) -> None:
        self.capacity = capacity
        self.rate = capacity / window
        self.max_tracked = max_tracked
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def level(self, key: str, now: float) -> float:
        entry = self._levels.get(key)
        if entry is None:
            return 0.0
        level, t = entry
        return max(0.0, level - max(0.0, now - t) * self.rate)

    def full(self, key: str, now: float) -> bool:
        """No room for one more failure: ``capacity`` failures, then one more
        each time one has drained (``window / capacity`` seconds)."""
        return self.level(key, now) > self.capacity - 1 + 1e-9

    def add(self, key: str, now: float) -> bool:
        """Count one failure; True when this one filled the bucket."""
        level = self.level(key, now) + 1.0
        self._levels[key] = (level, now)
        self._levels.move_to_end(key)
        while len(self._levels) > self.max_tracked:
            self._levels.popitem(last=False)
        return level > self.capacity - 1 + 1e-9

    def clear(self, key: str) -> None:
        self._levels.pop(key, None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """Why a request is refused without checking its credentials."""

    by: str  # "source" or "user"
    retry_after: float  # seconds until one more attempt is let through


class AuthThrottle:
    """Per-source and per-user failure counts; ask :meth:`check` before verifying."""

    def __init__(self, limits: ThrottleLimits | None = None) -> None:
        self.limits = limits or ThrottleLimits()
        lim = self.limits
        self._sources = _Buckets(lim.per_source, lim.window, lim.max_tracked)
        self._users = _Buckets(lim.per_user, lim.window, lim.max_tracked)
        self._trusted: OrderedDict[tuple[str, str], float] = OrderedDict()

    def check(self, source: str, username: str | None, now: float) -> Refusal | None:
        """None to go on and verify; a :class:`Refusal` to answer 403 at once."""
        if self._sources.full(source, now):
            return Refusal(by="source", retry_after=self._retry(self._sources, source, now))
        if username is not None and not self._is_trusted(source, username) and (
            self._users.full(username, now)
        ):
            return Refusal(by="user", retry_after=self._retry(self._users, username, now))
        return None

    def failed(self, source: str, username: str | None, now: float) -> Refusal | None:
        """Count a failed attempt; a :class:`Refusal` when it started a block."""
        started: Refusal | None = None
        if self._sources.add(source, now):
            started = Refusal(by="source", retry_after=self._retry(self._sources, source, now))
        counted = username is not None and not self._is_trusted(source, username)
        if counted and self._users.add(str(username), now) and started is None:
            started = Refusal(by="user", retry_after=self._retry(self._users, str(username), now))
        return started

    def succeeded(self, source: str, username: str, now: float) -> None:
        """``source`` proved it knows ``username``'s password."""
        key = (source, username)
        self._trusted[key] = now
        self._trusted.move_to_end(key)
        while len(self._trusted) > self.limits.max_tracked:
            self._trusted.popitem(last=False)

    def _is_trusted(self, source: str, username: str) -> bool:
        return (source, username) in self._trusted

    @staticmethod
    def _retry(buckets: _Buckets, key: str, now: float) -> float:
        excess = buckets.level(key, now) - (buckets.capacity - 1)
        return max(0.0, excess / buckets.rate)
