"""The timers of a call leg, as data (RFC 3261 §13.3.1.4, §9.1, §13.2.1).

A leg arms these by name in the user agent's
:class:`~sip.timer_queue.TimerQueue` and is told ``on_timer(name, now)``;
nothing here touches a clock or a loop.
"""

from __future__ import annotations

from dataclasses import dataclass

TIMER_2XX = "2xx"
"""UAS: retransmit our 2xx to an INVITE until its ACK (§13.3.1.4)."""
TIMER_LATE_ANSWER = "late answer"
"""UAC of a late offer: the application's answer for the ACK is overdue."""
_ABANDON = "abandon "


def timer_abandon(branch: int) -> str:
    """UAC: branch ``branch`` was CANCELled and has no final response yet (§9.1)."""
    return f"{_ABANDON}{branch}"


def abandoned_branch(name: str) -> int | None:
    """The branch index of a :func:`timer_abandon` name, else None."""
    if name.startswith(_ABANDON) and name[len(_ABANDON) :].isdigit():
        return int(name[len(_ABANDON) :])
    return None


def late_answer_timeout(t1: float) -> float:
    """How long a late-offer UAC waits for the application's answer: 32*T1.

    The peer retransmits its 2xx for 64*T1 and then ends the call (§13.3.1.4);
    giving up at half of that leaves the peer's BYE and ours time to cross.
    """
    return 32 * t1


@dataclass(slots=True)
class TwoXxRetransmission:
    """RFC 3261 §13.3.1.4: the UAS core's 2xx retransmission schedule.

    "The 2xx response is passed to the transport with an interval that
    starts at T1 seconds and doubles for each retransmission until it
    reaches T2 seconds ... If the server retransmits the 2xx response for
    64*T1 seconds without receiving an ACK, the dialog is confirmed, but the
    session SHOULD be terminated."
    """

    next_at: float
    interval: float
    t2: float
    give_up_at: float

    @classmethod
    def start(cls, now: float, t1: float, t2: float) -> TwoXxRetransmission:
        return cls(next_at=now + t1, interval=t1, t2=t2, give_up_at=now + 64 * t1)

    def fire(self, now: float) -> bool:
        """At ``next_at``: True to send the 2xx again (``next_at`` moves on),
        False when 64*T1 have passed without an ACK."""
        if now >= self.give_up_at:
            return False
        self.interval = min(self.interval * 2, self.t2)
        self.next_at = min(now + self.interval, self.give_up_at)
        return True
