"""The application's clock, built once by the composition root and passed in.

``now()`` is seconds since the epoch (ACD timers, registrations);
``wall()`` is the aware date and time schedules are evaluated on (N5).
:class:`PinnedSchedules` fixes the latter, so an admin (or a test) can see
what a plan does at Christmas or across a DST switch:
``jono serve --schedule-time 2026-12-24T10:00+02:00``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def wall(self) -> datetime: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def wall(self) -> datetime:
        return datetime.now(UTC)


class PinnedSchedules(SystemClock):
    """Real time for timers; schedules always see ``at``."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError(f"{at.isoformat()}: give the time with its UTC offset")
        self.at = at

    def wall(self) -> datetime:
        return self.at
