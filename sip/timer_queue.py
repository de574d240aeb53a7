"""Timers of the transaction user (RFC 3261 §13.3.1.4, §9.1, §10.2.4) as data.

Theory of operation
-------------------
The transaction layer keeps its own timers A-M as data
(:mod:`sip.transaction.layer`).  The layers above it have a few more: the
UAS core retransmits a 2xx until the ACK (§13.3.1.4), the UAC gives up on a
cancelled INVITE after 64*T1 (§9.1), a late-offer UAC bounds the wait for
the application's answer (§13.2.1), a registration is refreshed before it
expires (§10.2.4).  Those owners never touch the event loop: they
:meth:`TimerQueue.arm` a named deadline here and get
``owner.on_timer(name, now)`` when it is due.  The user agent (the asyncio
edge) owns the one loop timer and arms it at
``min(layer.next_deadline(), timers.next_deadline())``.

One heap of ``(deadline, seq, owner, name)``; an entry is live only while
``armed[(owner, name)]`` still holds its ``seq`` (lazy deletion, as in the
transaction layer), and the heap is rebuilt without dead entries whenever it
has doubled since the last rebuild.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Protocol


class TimerOwner(Protocol):
    def on_timer(self, name: str, now: float) -> None: ...


class TimerQueue:
    """Named deadlines per owner; no clock of its own (``now`` is passed in)."""

    __slots__ = ("_armed", "_heap", "_seq", "_compact_at")

    def __init__(self) -> None:
        self._armed: dict[tuple[TimerOwner, str], tuple[int, float]] = {}
        self._heap: list[tuple[float, int, TimerOwner, str]] = []
        self._seq = itertools.count()
        self._compact_at = 1024

    def __len__(self) -> int:
        """Number of armed timers."""
        return len(self._armed)

    def arm(self, owner: TimerOwner, name: str, deadline: float) -> None:
        """Arm (or re-arm) ``owner``'s timer ``name`` at ``deadline``."""
        seq = next(self._seq)
        self._armed[(owner, name)] = (seq, deadline)
        heapq.heappush(self._heap, (deadline, seq, owner, name))
        if len(self._heap) > self._compact_at:
            live = [e for e in self._heap if self._armed.get((e[2], e[3]), (None,))[0] == e[1]]
            heapq.heapify(live)
            self._heap = live
            self._compact_at = max(1024, 2 * len(live))

    def cancel(self, owner: TimerOwner, name: str) -> None:
        self._armed.pop((owner, name), None)

    def deadline(self, owner: TimerOwner, name: str) -> float | None:
        """When ``owner``'s timer ``name`` fires, or None if it is not armed."""
        entry = self._armed.get((owner, name))
        return entry[1] if entry is not None else None

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap:
            deadline, seq, owner, name = heap[0]
            entry = self._armed.get((owner, name))
            if entry is not None and entry[0] == seq:
                return deadline
            heapq.heappop(heap)
        return None

    def due(self, now: float) -> list[tuple[TimerOwner, str]]:
        """Disarm and return every timer due at ``now``, earliest first."""
        heap = self._heap
        out: list[tuple[TimerOwner, str]] = []
        while heap and heap[0][0] <= now:
            _, seq, owner, name = heapq.heappop(heap)
            entry = self._armed.get((owner, name))
            if entry is None or entry[0] != seq:
                continue
            del self._armed[(owner, name)]
            out.append((owner, name))
        return out
