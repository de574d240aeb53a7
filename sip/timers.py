"""SIP timer values (RFC 3261 §17 and Table 4 of Appendix A; RFC 6026 §8.11).

Timers are data here: this module only says how long each one lasts.  The
transaction machines turn the durations into ``StartTimer(name, deadline)``
effects, and whoever owns the clock fires them (see :mod:`sip.transaction`).

Timers A, E and G are the *initial* retransmission intervals; the machines
double them (A without bound, E and G capped at T2).  Timers D, I, J and K
only absorb retransmissions, so over a reliable transport they are zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# RFC 3261 Appendix A, Table 4.
T1: Final = 0.5  # RTT estimate
T2: Final = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
T4: Final = 5.0  # maximum duration a message will remain in the network

# The RFC letter names, as carried by StartTimer/CancelTimer effects.
TIMER_A: Final = "A"
TIMER_B: Final = "B"
TIMER_C: Final = "C"
TIMER_D: Final = "D"
TIMER_E: Final = "E"
TIMER_F: Final = "F"
TIMER_G: Final = "G"
TIMER_H: Final = "H"
TIMER_I: Final = "I"
TIMER_J: Final = "J"
TIMER_K: Final = "K"
TIMER_L: Final = "L"  # RFC 6026 §8.11
TIMER_M: Final = "M"  # RFC 6026 §8.11
TIMER_NAMES: Final = frozenset("ABCDEFGHIJKLM")


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerConfig:
    """T1/T2/T4 and the timer durations derived from them (seconds)."""

    t1: float = T1
    t2: float = T2
    t4: float = T4

    def __post_init__(self) -> None:
        if not self.t1 > 0 or not self.t2 > 0 or not self.t4 > 0:
            raise ValueError(f"timer values must be positive: {self!r}")
        if self.t2 < self.t1:
            raise ValueError(f"T2 {self.t2} must be >= T1 {self.t1}")

    @property
    def timeout(self) -> float:
        """64*T1: transaction timeout (Timers B, F, H, J, L, M)."""
        return 64 * self.t1

    def timer_a(self) -> float:
        """INVITE request retransmit interval, initially T1 (UDP only)."""
        return self.t1

    def timer_b(self) -> float:
        """INVITE transaction timeout."""
        return self.timeout

    def timer_c(self) -> float:
        """Proxy INVITE transaction timeout (> 3 min); not used by a UA."""
        return 180.0

    def timer_d(self, reliable: bool) -> float:
        """Wait time for response retransmits: >= 32 s for UDP, 0 for TCP."""
        return 0.0 if reliable else max(32.0, self.timeout)

    def timer_e(self) -> float:
        """Non-INVITE request retransmit interval, initially T1 (UDP only)."""
        return self.t1

    def timer_f(self) -> float:
        """Non-INVITE transaction timeout."""
        return self.timeout

    def timer_g(self) -> float:
        """INVITE response retransmit interval, initially T1 (UDP only)."""
        return self.t1

    def timer_h(self) -> float:
        """Wait time for ACK receipt."""
        return self.timeout

    def timer_i(self, reliable: bool) -> float:
        """Wait time for ACK retransmits: T4 for UDP, 0 for TCP."""
        return 0.0 if reliable else self.t4

    def timer_j(self, reliable: bool) -> float:
        """Wait time for non-INVITE request retransmits: 64*T1 for UDP, 0 for TCP."""
        return 0.0 if reliable else self.timeout

    def timer_k(self, reliable: bool) -> float:
        """Wait time for response retransmits: T4 for UDP, 0 for TCP."""
        return 0.0 if reliable else self.t4

    def timer_l(self) -> float:
        """Wait time for accepted INVITE request retransmits (RFC 6026)."""
        return self.timeout

    def timer_m(self) -> float:
        """Wait time for retransmission of 2xx to INVITE or additional 2xx from
        other branches of a forked INVITE (RFC 6026)."""
        return self.timeout


DEFAULT_TIMERS: Final = TimerConfig()
