"""RTP header handling (RFC 3550 section 5.1), receive statistics (appendix A.1, A.8)
and RTCP sender/receiver reports built with aiortc's packet classes.

Pure and synchronous: nothing here touches sockets or the event loop.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from aiortc.rtp import (
    RtcpPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSenderInfo,
    RtcpSrPacket,
)

# RFC 3550 5.1:
#  0                   1                   2                   3
#  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
# |V=2|P|X|  CC   |M|     PT      |       sequence number         |
# |                           timestamp                           |
# |           synchronization source (SSRC) identifier            |
HEADER = struct.Struct("!BBHII")
HEADER_SIZE = 12
SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
RTP_VERSION = 2


class RtpError(ValueError):
    """A datagram that is not a valid RTP packet."""


class RtpPacket:
    """A parsed RTP packet. Plain slotted class: built once per received datagram."""

    __slots__ = ("payload_type", "marker", "sequence", "timestamp", "ssrc", "payload")

    def __init__(
        self,
        *,
        payload_type: int,
        sequence: int,
        timestamp: int,
        ssrc: int,
        payload: bytes,
        marker: bool = False,
    ) -> None:
        self.payload_type = payload_type
        self.marker = marker
        self.sequence = sequence
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.payload = payload

    def __repr__(self) -> str:
        return (
            f"RtpPacket(pt={self.payload_type}, seq={self.sequence}, ts={self.timestamp}, "
            f"ssrc={self.ssrc:#x}, marker={self.marker}, len={len(self.payload)})"
        )

    def __bytes__(self) -> bytes:
        return pack_rtp(
            self.payload_type, self.sequence, self.timestamp, self.ssrc, self.payload, self.marker
        )


def pack_rtp(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool = False,
) -> bytes:
    """Build an RTP packet with no CSRC list, no extension and no padding."""
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    return (
        HEADER.pack(0x80, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF)
        + payload
    )


def is_rtcp(data: bytes) -> bool:
    # RFC 5761 4: a second byte of 192-223 (RTCP types; RTP PT 64-95 with marker) is RTCP.
    return len(data) >= 2 and 192 <= data[1] <= 223


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one RTP datagram; raises RtpError with the reason."""
    if len(data) < HEADER_SIZE:
        raise RtpError(f"datagram of {len(data)} bytes is shorter than the RTP header")
    first, second, seq, ts, ssrc = HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6} is not 2")
    if is_rtcp(data):
        raise RtpError("RTCP packet on the RTP port")
    offset = HEADER_SIZE + 4 * (first & 0x0F)
    end = len(data)
    # RFC 3550 5.3.1: if X is set, a header extension of 4 + 4*length bytes follows the CSRCs.
    if first & 0x10:
        if end < offset + 4:
            raise RtpError("truncated header extension")
        (ext_words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * ext_words
    # RFC 3550 5.1: if P is set, the last octet holds the number of padding octets.
    if first & 0x20:
        if end == 0 or data[-1] == 0:
            raise RtpError("bad padding")
        end -= data[-1]
    if offset > end:
        raise RtpError("header longer than datagram")
    return RtpPacket(
        payload_type=second & 0x7F,
        marker=bool(second & 0x80),
        sequence=seq,
        timestamp=ts,
        ssrc=ssrc,
        payload=data[offset:end],
    )


def seq_diff(a: int, b: int) -> int:
    """Signed distance a - b on the 16-bit sequence circle (RFC 3550 A.1)."""
    d = (a - b) & 0xFFFF
    return d - SEQ_MOD if d >= SEQ_MOD // 2 else d


def seq_newer(a: int, b: int) -> bool:
    """True when sequence number a comes after b, allowing for wrap-around."""
    return seq_diff(a, b) > 0


def ts_diff(a: int, b: int) -> int:
    """Signed distance a - b on the 32-bit timestamp circle."""
    d = (a - b) & 0xFFFFFFFF
    return d - TS_MOD if d >= TS_MOD // 2 else d


@dataclass(slots=True, kw_only=True)
class LegStats:
    """Per-leg counters for the call record."""

    packets_sent: int = 0
    bytes_sent: int = 0
    packets_received: int = 0
    bytes_received: int = 0
    packets_lost: int = 0
    jitter_ms: float = 0.0


# RFC 3550 A.1: a source is valid after MIN_SEQUENTIAL packets in sequence; jumps larger
# than MAX_DROPOUT restart the count.
MAX_DROPOUT = 3000
MAX_MISORDER = 100


class ReceiveStats:
    """Receive side of one source: extended sequence numbers, loss (A.3) and jitter (A.8)."""

    __slots__ = (
        "clock_rate",
        "base_seq",
        "max_seq",
        "cycles",
        "received",
        "expected_prior",
        "received_prior",
        "jitter",
        "transit",
        "_started",
    )

    def __init__(self, clock_rate: int = 8000) -> None:
        self.clock_rate = clock_rate
        self.base_seq = 0
        self.max_seq = 0
        self.cycles = 0
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0
        self.jitter = 0.0  # in timestamp units
        self.transit: int | None = None
        self._started = False

    def reset(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.cycles = 0
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0
        self.transit = None
        self._started = True

    def update(self, seq: int, timestamp: int, arrival: float) -> None:
        """Account for one packet; arrival is in seconds (any monotonic origin)."""
        if not self._started:
            self.reset(seq)
        else:
            delta = (seq - self.max_seq) & 0xFFFF
            if delta < MAX_DROPOUT:
                # RFC 3550 A.1: in order, with permissible gap; count a wrap.
                if seq < self.max_seq:
                    self.cycles += SEQ_MOD
                self.max_seq = seq
            elif delta <= SEQ_MOD - MAX_MISORDER:
                # A very large jump: the sender restarted; start counting again.
                self.reset(seq)
            # else: duplicate or reordered packet, counted as received below.
        self.received += 1
        # RFC 3550 A.8: D(i-1,i) = (Rj - Ri) - (Sj - Si); J += (|D| - J) / 16.
        transit = (int(arrival * self.clock_rate) - timestamp) & 0xFFFFFFFF
        last = self.transit
        if last is not None:
            d = (transit - last) & 0xFFFFFFFF  # |ts_diff(transit, last)|
            if d >= 0x80000000:
                d = 0x100000000 - d
            if d < self.clock_rate * 10:  # ignore timestamp jumps of a new source
                self.jitter += (d - self.jitter) / 16.0
        self.transit = transit

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self.base_seq + 1 if self._started else 0

    @property
    def lost(self) -> int:
        # RFC 3550 A.3: cumulative number of packets lost = expected - received (may be < 0).
        return max(0, self.expected - self.received)

    @property
    def jitter_ms(self) -> float:
        return self.jitter * 1000.0 / self.clock_rate

    def report_block(self, ssrc: int, lsr: int = 0, dlsr: int = 0) -> RtcpReceiverInfo:
        """A reception report block (RFC 3550 6.4.1); advances the 'prior' counters."""
        expected = self.expected
        expected_interval = expected - self.expected_prior
        received_interval = self.received - self.received_prior
        self.expected_prior = expected
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        # RFC 3550 A.3: fraction = (lost_interval << 8) / expected_interval, 0 if none lost.
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        return RtcpReceiverInfo(
            ssrc=ssrc,
            fraction_lost=fraction,
            packets_lost=min(self.lost, 0x7FFFFF),
            highest_sequence=self.extended_max & 0xFFFFFFFF,
            jitter=int(self.jitter) & 0xFFFFFFFF,
            lsr=lsr,
            dlsr=dlsr,
        )


NTP_EPOCH_OFFSET = 2208988800  # seconds between 1900-01-01 and 1970-01-01


def ntp_timestamp(unix_time: float) -> int:
    """64-bit NTP timestamp (RFC 3550 4) for a Unix time."""
    seconds = int(unix_time) + NTP_EPOCH_OFFSET
    fraction = int((unix_time % 1.0) * (1 << 32))
    return ((seconds & 0xFFFFFFFF) << 32) | (fraction & 0xFFFFFFFF)


def build_rtcp_report(
    *,
    ssrc: int,
    stats: LegStats,
    rtp_timestamp: int,
    unix_time: float,
    remote_ssrc: int | None,
    receive: ReceiveStats | None,
) -> bytes:
    """RFC 3550 6.4: an SR if we sent anything, else an RR, with one report block when we
    have heard from the remote source."""
    reports = []
    if remote_ssrc is not None and receive is not None:
        reports.append(receive.report_block(remote_ssrc))
    if stats.packets_sent:
        # RFC 3550 6.4.1: SR carries the sender info (NTP, RTP ts, packet and octet counts).
        sr = RtcpSrPacket(
            ssrc=ssrc,
            sender_info=RtcpSenderInfo(
                ntp_timestamp=ntp_timestamp(unix_time),
                rtp_timestamp=rtp_timestamp & 0xFFFFFFFF,
                packet_count=stats.packets_sent & 0xFFFFFFFF,
                octet_count=stats.bytes_sent & 0xFFFFFFFF,
            ),
            reports=reports,
        )
        return bytes(sr)
    return bytes(RtcpRrPacket(ssrc=ssrc, reports=reports))


def parse_rtcp(data: bytes) -> list[object]:
    """Parse a compound RTCP packet with aiortc; raises ValueError on malformed input."""
    return list(RtcpPacket.parse(data))
