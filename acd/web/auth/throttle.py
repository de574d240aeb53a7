"""Sign-in throttling: failures counted per source address and per user name.

A key (``source:203.0.113.9`` or ``user:bob``) that reached its limit of
failures within the window is refused until its oldest counted failure
leaves the window. User names are counted whether they exist or not, so
the answer never tells which ones do. IPv6 sources count per /64 (one
host usually holds a whole /64). Memory is bounded: beyond ``max_keys``
the least recently failed keys are forgotten.

Trade-off: a per-user limit lets an attacker lock a named agent out of the
web for one window; the per-user limit is therefore higher than one
person's typing mistakes need and the lock lifts by itself. The per-source
limit is what stops password spraying from one place.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottleSettings:
    window_seconds: float = 15 * 60
    per_source: int = 20
    per_user: int = 10
    max_keys: int = 50_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottleDecision:
    allowed: bool
    retry_after: float = 0.0
    key: str = ""  # which limit refused ("source:..." or "user:..."); for the log only


def source_key(address: str) -> str:
    """``source:<address>``, IPv6 addresses cut to their /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"source:{address}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        net = ipaddress.IPv6Network((int(ip) >> 64 << 64, 64))
        return f"source:{net}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"source:{ip.ipv4_mapped}"
    return f"source:{ip}"


def user_key(user: str) -> str:
    return f"user:{user.strip().casefold()[:128]}"


class LoginThrottle:
    """Time is passed in (seconds, monotonic or wall: only differences matter)."""

    def __init__(self, settings: ThrottleSettings | None = None) -> None:
        self.settings = settings or ThrottleSettings()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def check(self, source: str, user: str, now: float) -> ThrottleDecision:
        """May this attempt go ahead? Checked before the password is."""
        s = self.settings
        for key, limit in ((source_key(source), s.per_source), (user_key(user), s.per_user)):
            times = self._recent(key, now)
            if len(times) >= limit:
                return ThrottleDecision(
                    allowed=False, retry_after=times[0] + s.window_seconds - now, key=key
                )
        return ThrottleDecision(allowed=True)

    def failed(self, source: str, user: str, now: float) -> None:
        for key in (source_key(source), user_key(user)):
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > self.settings.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, user: str) -> None:
        """A correct password clears the user's count (not the source's)."""
        self._failures.pop(user_key(user), None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        horizon = now - self.settings.window_seconds
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
        return times
