"""Deadlines as data: the engine never sleeps, the adapter calls ``tick``.

A heap of ``(at, rank, seq, Timer)``; cancelling marks the timer dead and the
heap drops it lazily, so that ``next_deadline`` never reports a dead one.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Literal

TimerKind = Literal[
    "ring_timeout", "wrap_up_over", "max_wait", "retry", "eligible", "callback_expiry"
]

# Timers due at the same instant fire in this order: a cool-off that ends
# frees an earlier caller before a ring timeout hands agents to later ones.
RANK: dict[str, int] = {
    "retry": 0, "eligible": 0, "wrap_up_over": 1, "ring_timeout": 2, "max_wait": 3,
    "callback_expiry": 4,
}


@dataclass(slots=True, eq=False)
class Timer:
    kind: TimerKind
    key: str
    at: float
    alive: bool = field(default=True)

    def cancel(self) -> None:
        self.alive = False


class Deadlines:
    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, Timer]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, kind: TimerKind, key: str, at: float) -> Timer:
        timer = Timer(kind, key, at)
        self._seq += 1
        heapq.heappush(self._heap, (at, RANK[kind], self._seq, timer))
        return timer

    def next_at(self) -> float | None:
        heap = self._heap
        while heap and not heap[0][3].alive:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> Timer | None:
        """The earliest live timer due at ``now``, removed; None if none is due."""
        heap = self._heap
        while heap:
            at, _, _, timer = heap[0]
            if not timer.alive:
                heapq.heappop(heap)
                continue
            if at > now:
                return None
            heapq.heappop(heap)
            timer.alive = False
            return timer
        return None
