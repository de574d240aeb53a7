"""DTMF: RFC 4733 telephone-event payloads, a deduplicating receiver, a packet sender,
and SIP INFO application/dtmf-relay bodies.

Pure and synchronous.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# RFC 4733 3.2: events 0-9, *, #, A-D are codes 0-15.
DIGITS = "0123456789*#ABCD"
EVENT_FORMAT = struct.Struct("!BBH")


class DtmfError(ValueError):
    """A malformed telephone-event payload."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int
    duration: int  # timestamp units

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 255:
            raise DtmfError(f"event {self.event} out of range")
        if not 0 <= self.volume <= 63:
            raise DtmfError(f"volume {self.volume} out of range 0..63")
        if not 0 <= self.duration <= 0xFFFF:
            raise DtmfError(f"duration {self.duration} out of range")

    @property
    def digit(self) -> str | None:
        return DIGITS[self.event] if self.event < len(DIGITS) else None


def parse_telephone_event(payload: bytes) -> TelephoneEvent:
    # RFC 4733 2.3:
    #  0                   1                   2                   3
    # |     event     |E|R| volume    |          duration             |
    if len(payload) < 4:
        raise DtmfError(f"telephone-event payload of {len(payload)} bytes, need 4")
    event, flags, duration = EVENT_FORMAT.unpack_from(payload)
    # RFC 4733 2.3: the R bit is reserved, "MUST be set to 0 by the sender and ignored".
    return TelephoneEvent(
        event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration
    )


def build_telephone_event(event: int, *, end: bool, volume: int, duration: int) -> bytes:
    ev = TelephoneEvent(event=event, end=end, volume=volume, duration=duration)
    return EVENT_FORMAT.pack(ev.event, (0x80 if ev.end else 0) | ev.volume, ev.duration)


def digit_event(digit: str) -> int:
    index = DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if index < 0:
        raise DtmfError(f"not a DTMF digit: {digit!r}")
    return index


class DtmfReceiver:
    """Turns the stream of telephone-event packets into digits, each reported once.

    RFC 4733 2.5.1.3: all packets of one event carry the event's start timestamp, and
    the final packet (E bit) is sent three times. We report a digit on the first end
    packet of a timestamp; if all end packets are lost, we report it when the next
    event (a new timestamp) begins.
    """

    __slots__ = ("_current_ts", "_current_event", "_reported", "_duration")

    def __init__(self) -> None:
        self._current_ts: int | None = None
        self._current_event: int | None = None
        self._reported = False
        self._duration = 0

    def feed(self, timestamp: int, payload: bytes) -> list[str]:
        """Feed one packet; returns the digits completed by it (zero, one or two)."""
        try:
            ev = parse_telephone_event(payload)
        except DtmfError:
            return []
        out: list[str] = []
        # Some senders (a phone sending no audio, so its RTP clock stands still)
        # start the next event on the timestamp of the last one: after an end,
        # a packet that is not an end and whose duration started again is new.
        restarted = (
            timestamp == self._current_ts and self._reported and not ev.end
            and ev.duration < self._duration
        )
        self._duration = ev.duration
        if timestamp != self._current_ts or restarted:
            # RFC 4733 2.5.2.2: a new timestamp starts a new event.
            if not self._reported and self._current_event is not None:
                lost_end = DIGITS[self._current_event] if self._current_event < 16 else None
                if lost_end:
                    out.append(lost_end)
            self._current_ts = timestamp
            self._current_event = ev.event
            self._reported = False
        if ev.end and not self._reported:
            self._reported = True
            if ev.digit is not None:
                out.append(ev.digit)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPacket:
    """One packet of an outgoing event: the payload, the marker bit, and whether it is one
    of the repeated end packets."""

    payload: bytes
    marker: bool


def event_packets(
    digit: str, *, duration_ms: int = 100, volume: int = 10, packet_ms: int = 20
) -> list[EventPacket]:
    """The packets for one digit, all to be sent with the same RTP timestamp, one per
    packet_ms and consecutive sequence numbers; the sender then advances its timestamp by
    the event duration (duration_ms * 8)."""
    event = digit_event(digit)
    total = duration_ms * 8
    step = packet_ms * 8
    packets = []
    elapsed = step
    # RFC 4733 2.5.1.2: the first packet of an event sets the marker bit; updates carry
    # the duration so far.
    while elapsed < total:
        packets.append(
            EventPacket(
                payload=build_telephone_event(event, end=False, volume=volume, duration=elapsed),
                marker=elapsed == step,
            )
        )
        elapsed += step
    # RFC 4733 2.5.1.4: the final packet is retransmitted (we send it three times).
    final = build_telephone_event(event, end=True, volume=volume, duration=total)
    for i in range(3):
        packets.append(EventPacket(payload=final, marker=not packets and i == 0))
    return packets


def parse_dtmf_relay(body: bytes) -> str | None:
    """The digit in a SIP INFO application/dtmf-relay body ("Signal=5\\r\\nDuration=160"),
    or None. Accepts any line ending and spacing; 'Signal=10'/'11' mean * and #."""
    text = body.decode("ascii", "replace")
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or key.strip().lower() != "signal":
            continue
        value = value.strip().upper()
        if value in ("10", "11"):
            return "*" if value == "10" else "#"
        if len(value) == 1 and value in DIGITS:
            return value
        return None
    return None
