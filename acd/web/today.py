"""The wallboard's "today" figures: per queue answered, abandoned, overflowed
and the service level; per agent the calls handled. Counted from the queue
events as they happen, started from the store's events of today at start-up,
and reset at midnight in the server's time zone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from acd.report import QueueFigures

OVERFLOW_KINDS = ("overflowed", "exited_by_key")


class Today:
    def __init__(self, timezone: str, service_level_s: float) -> None:
        self.zone = ZoneInfo(timezone)
        self.service_level_s = service_level_s
        self.day: date | None = None
        self.queues: dict[str, QueueFigures] = {}
        self.handled: Counter[str] = Counter()
        self._day_start = self._day_end = 0.0

    def start_of_day(self, now: float) -> datetime:
        """Midnight today in the server's zone, as an aware UTC time."""
        local = datetime.fromtimestamp(now, self.zone)
        return datetime.combine(local.date(), time(), self.zone).astimezone(UTC)

    def _roll(self, now: float) -> None:
        if self._day_start <= now < self._day_end:
            return  # the same day (checked on every event: two comparisons)
        day = datetime.fromtimestamp(now, self.zone).date()
        if day != self.day:
            self.day = day
            self.queues.clear()
            self.handled.clear()
        start = datetime.combine(day, time(), self.zone)
        self._day_start = start.timestamp()
        self._day_end = datetime.combine(day + timedelta(days=1), time(), self.zone).timestamp()

    def add(
        self, kind: str, queue: str | None, agent: str | None, wait: float | None, now: float
    ) -> bool:
        """Count one queue event; True if a figure changed."""
        self._roll(now)
        if queue is None:
            return False
        figures = self.queues.get(queue)
        if figures is None:
            figures = self.queues[queue] = QueueFigures(queue)
        w = wait or 0.0
        if kind == "answered":
            figures.answered += 1
            figures.wait_answered += w
            if w <= self.service_level_s:
                figures.answered_in_time += 1
            if agent is not None:
                self.handled[agent] += 1
        elif kind == "abandoned":
            figures.abandoned += 1
            figures.wait_abandoned += w
        elif kind in OVERFLOW_KINDS:
            figures.overflowed += 1
        else:
            return False
        return True

    def load(
        self, steps: Iterable[tuple[str, str | None, str | None, float | None]], now: float
    ) -> None:
        """Today's events from the store (before live events arrive)."""
        for kind, queue, agent, wait in steps:
            self.add(kind, queue, agent, wait, now)

    def handled_call(self, agent: str, now: float) -> None:
        """A call the agent made (a desktop call-out that was answered)."""
        self._roll(now)
        self.handled[agent] += 1

    def queue(self, queue: str, now: float) -> dict[str, object]:
        self._roll(now)
        f = self.queues.get(queue) or QueueFigures(queue)
        sl = f.service_level
        return {
            "answered": f.answered,
            "abandoned": f.abandoned,
            "overflowed": f.overflowed,
            "service_level": None if sl is None else round(sl, 3),
            "average_wait": None if f.average_wait is None else round(f.average_wait, 1),
        }

    def agent(self, agent: str, now: float) -> int:
        self._roll(now)
        return self.handled[agent]
