"""Estimated waiting time (Q3).

Average handle time (AHT) per queue is the mean of the last
:data:`HISTORY` handle times (talk time plus the queue's wrap-up), or the
queue's ``default_handle_time`` while there is no history.

Formula. Let ``n`` be the agents serving the queue (logged in, not paused,
not blocked by presence, reachable), ``r`` of them ready now, and ``p`` the
caller's 1-based position counting only callers ahead that are not ringing
yet (a ringing caller already holds a reserved agent). Callers at positions ``<= r`` get an agent at
once: EWT 0. The others wait for the ``q = p - r``-th release of a busy
agent. With remaining times spread evenly over ``[0, AHT]``, the k-th of n
releases comes at ``AHT * k / (n + 1)``; after n releases the cycle starts
again one AHT later:

    EWT(q) = floor((q - 1) / n) * AHT + AHT * (((q - 1) mod n) + 1) / (n + 1)

One busy agent, no history, first in line: half the default handle time;
second in line: 1.5 AHT. With no serving agent the estimate is unknown
(None): nobody can say when an agent will log in.
"""

from __future__ import annotations

import math
from collections import deque

HISTORY = 50


class HandleTimes:
    """Moving mean of the last :data:`HISTORY` handle times of one queue."""

    __slots__ = ("_window", "_sum")

    def __init__(self) -> None:
        self._window: deque[float] = deque()
        self._sum = 0.0

    def __len__(self) -> int:
        return len(self._window)

    def add(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self._window.append(seconds)
        self._sum += seconds
        if len(self._window) > HISTORY:
            self._sum -= self._window.popleft()

    def average(self, default: float) -> float:
        if not self._window:
            return default
        return max(0.0, self._sum / len(self._window))


def estimate_wait(*, position: int, serving: int, ready: int, aht: float) -> float | None:
    """EWT in seconds for the caller at ``position`` (see the module docstring)."""
    if position < 1:
        raise ValueError(f"position {position!r} must be >= 1")
    if serving <= 0:
        return None
    ready = max(0, min(ready, serving))
    if position <= ready:
        return 0.0
    q = position - ready
    n = serving
    cycles, k = divmod(q - 1, n)
    return cycles * aht + aht * (k + 1) / (n + 1)


Announcement = tuple[str] | tuple[str, int]


def announcement_for(seconds: float, *, max_minutes: int = 30) -> Announcement:
    """What to tell the caller: under a minute, about n minutes, or more than n.

    Minutes are rounded up, so a caller is never promised less than the
    estimate.
    """
    if seconds < 60:
        return ("less_than_minute",)
    minutes = math.ceil(seconds / 60)
    if minutes > max_minutes:
        return ("more_than", max_minutes)
    return ("minutes", minutes)
