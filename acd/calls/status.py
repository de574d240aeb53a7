"""What a SIP final status means for a call attempt: the one table.

Every place that asks "was that busy, no answer, a refusal, or nobody
there?" (forwarding on busy/no answer, P4; an agent's failed offer, D10/D12;
the call record, S2) reads it here.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"  # 486 Busy Here, 600 Busy Everywhere
    REJECTED = "rejected"  # 603 Decline: the person said no
    NO_ANSWER = "no_answer"  # rang without answer: 408, our own ring timeout, 487
    UNREACHABLE = "unreachable"  # nothing rang: 480, 404, 503, no registration, ...
    CANCELLED = "cancelled"  # we withdrew the attempt ourselves


# RFC 3261 §21.4.9 408 Request Timeout, §21.4.18 480 Temporarily Unavailable,
# §21.4.24 486 Busy Here, §21.4.26 487 Request Terminated, §21.6.1 600 Busy
# Everywhere, §21.6.2 603 Decline.
_TABLE: dict[int, Outcome] = {
    486: Outcome.BUSY,
    600: Outcome.BUSY,
    603: Outcome.REJECTED,
    408: Outcome.NO_ANSWER,
    487: Outcome.NO_ANSWER,
}


def outcome_of(status: int) -> Outcome:
    """The meaning of a final status of an INVITE we sent."""
    if 200 <= status < 300:
        return Outcome.ANSWERED
    return _TABLE.get(status, Outcome.UNREACHABLE)


def is_busy(outcome: Outcome) -> bool:
    """P4: forward on busy (the callee was there and said busy or no)."""
    return outcome in (Outcome.BUSY, Outcome.REJECTED)


def acd_failure_reason(outcome: Outcome) -> str:
    """The engine's offer-failure reason (acd.domain: rejected, no_answer,
    unreachable); D10 counts the first two as unanswered."""
    if outcome in (Outcome.BUSY, Outcome.REJECTED):
        return "rejected"
    if outcome in (Outcome.NO_ANSWER, Outcome.CANCELLED):
        return "no_answer"
    return "unreachable"
