"""TU timers as data: the queue the user agent fires, and the 2xx
retransmission schedule of RFC 3261 §13.3.1.4 (no clock, no loop)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sip.leg_timers import (
    TwoXxRetransmission,
    abandoned_branch,
    late_answer_timeout,
    timer_abandon,
)
from sip.timer_queue import TimerQueue


@dataclass(eq=False)
class Owner:
    fired: list[tuple[str, float]] = field(default_factory=list)

    def on_timer(self, name: str, now: float) -> None:
        self.fired.append((name, now))


def test_due_returns_timers_in_deadline_order_and_disarms_them() -> None:
    queue = TimerQueue()
    a, b = Owner(), Owner()
    queue.arm(a, "x", 2.0)
    queue.arm(b, "y", 1.0)
    assert queue.next_deadline() == 1.0
    assert queue.due(0.5) == []
    assert queue.due(2.0) == [(b, "y"), (a, "x")]
    assert queue.due(9.0) == [] and len(queue) == 0 and queue.next_deadline() is None


def test_rearming_replaces_the_deadline_and_cancel_disarms() -> None:
    queue = TimerQueue()
    owner = Owner()
    queue.arm(owner, "x", 1.0)
    queue.arm(owner, "x", 3.0)
    assert queue.deadline(owner, "x") == 3.0
    assert queue.due(2.0) == []
    assert queue.next_deadline() == 3.0
    queue.cancel(owner, "x")
    assert queue.next_deadline() is None and queue.due(5.0) == []


def test_rearming_at_the_same_deadline_after_cancel_fires_once() -> None:
    queue = TimerQueue()
    owner = Owner()
    queue.arm(owner, "x", 1.0)
    queue.cancel(owner, "x")
    queue.arm(owner, "x", 1.0)
    assert queue.due(1.0) == [(owner, "x")]


def test_heap_of_dead_entries_is_compacted() -> None:
    queue = TimerQueue()
    owner = Owner()
    for i in range(5000):
        queue.arm(owner, "x", float(i))
    assert len(queue) == 1
    assert len(queue._heap) < 2100


def test_2xx_is_resent_at_t1_doubling_to_t2_and_given_up_at_64_t1() -> None:
    # §13.3.1.4: "an interval that starts at T1 seconds and doubles for each
    # retransmission until it reaches T2 seconds ... for 64*T1 seconds".
    machine = TwoXxRetransmission.start(0.0, t1=0.5, t2=4.0)
    sent_at = []
    now = machine.next_at
    while machine.fire(now):
        sent_at.append(now)
        now = machine.next_at
    assert sent_at[:5] == [0.5, 1.5, 3.5, 7.5, 11.5]
    assert now == 32.0  # gives up exactly at 64*T1
    assert all(b - a <= 4.0 for a, b in zip(sent_at, sent_at[1:], strict=False))


def test_timer_names_round_trip() -> None:
    assert abandoned_branch(timer_abandon(3)) == 3
    assert abandoned_branch("2xx") is None
    assert late_answer_timeout(0.5) == pytest.approx(16.0)
