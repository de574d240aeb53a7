"""Fast receive paths for the common case, beside the general path in media/leg.py.

The general path parses every datagram into an RtpPacket, updates the statistics, and
asks the leg what to do with it (record, echo, detect DTMF, relay through the stream
rewriter, transcode). Most packets of a contact centre need none of that: a bridged
call with the same codec both ways, no recording, no prompt and no DTMF in flight, or a
waiting caller whose audio only needs counting. For those a leg installs one of these
readers on its connected RTP socket (RtpEndpoint.set_fast_reader). A reader reads the
datagram itself and handles it inline with the same arithmetic as the general path:

- RFC 3550 A.1/A.8 receive statistics (ReceiveStats.update: loss and jitter) and the
  leg's packet and byte counters, so the call record's media figures stay right;
- RFC 3550 5.1 header rewrite with the fixed offsets the StreamRewriter chose when the
  source started (same SSRC, continuous sequence numbers and timestamps).

Anything else - a telephone-event, comfort noise, a header with CSRCs, an extension or
padding, a new SSRC - goes to the general path (RtpEndpoint.receive_general), after
which the reader asks the leg again which source its offsets are valid for (``resync``).
The leg replaces the reader whenever a condition changes (see MediaLeg._update_path).
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Callable
from time import monotonic

from media.bridge import StreamRewriter
from media.endpoint import MAX_DATAGRAM, Addr, RtpEndpoint
from media.rtp import HEADER, MAX_DROPOUT, MAX_MISORDER, SEQ_MOD, LegStats, ReceiveStats

log = logging.getLogger(__name__)

# RFC 3550 5.1: sequence number, timestamp, SSRC at offset 2.
SEQ_TS_SSRC = struct.Struct("!HII")
# First octet of a plain RTP header: V=2, no padding, no extension, no CSRCs.
PLAIN_V2 = 0x80
HEADER_SIZE = 12

# resync() -> the SSRC whose packets the reader may handle itself (None: none yet).
Resync = Callable[[], int | None]


class SinkReader:
    """A leg whose received audio goes nowhere (a caller listening to a prompt or music):
    count it and keep the statistics; nothing is sent."""

    __slots__ = ("recv", "endpoint", "stats", "rx", "pt", "ssrc", "resync")

    def __init__(
        self,
        endpoint: RtpEndpoint,
        stats: LegStats,
        rx: ReceiveStats,
        payload_type: int,
        resync: Resync,
    ) -> None:
        self.recv = endpoint.sock.recv
        self.endpoint = endpoint
        self.stats = stats
        self.rx = rx
        self.pt = payload_type
        self.resync = resync
        self.ssrc = resync()

    def read(self) -> None:
        try:
            data = self.recv(MAX_DATAGRAM)
        except BlockingIOError:
            return
        except OSError as exc:
            self.endpoint.socket_errors += 1
            log.debug("rtp socket error on port %d: %s", self.endpoint.port, exc)
            return
        now = monotonic()
        endpoint = self.endpoint
        endpoint.last_rx = now
        if len(data) <= HEADER_SIZE or data[0] != PLAIN_V2 or (data[1] & 0x7F) != self.pt:
            endpoint.receive_general(data)
            self.ssrc = self.resync()
            return
        seq, ts, ssrc = SEQ_TS_SSRC.unpack_from(data, 2)
        if ssrc != self.ssrc:
            endpoint.receive_general(data)
            self.ssrc = self.resync()
            return
        stats = self.stats
        stats.packets_received += 1
        stats.bytes_received += len(data) - HEADER_SIZE
        # ReceiveStats.update inlined (RFC 3550 A.1 sequence tracking, A.8 jitter): the
        # same arithmetic, one method call less per packet. Guarded by
        # tests/unit/media/test_fastpath.py (fast and general paths give equal stats).
        rx = self.rx
        delta = (seq - rx.max_seq) & 0xFFFF
        if delta < MAX_DROPOUT:
            if seq < rx.max_seq:
                rx.cycles += SEQ_MOD
            rx.max_seq = seq
        elif delta <= SEQ_MOD - MAX_MISORDER:
            rx.reset(seq)
        rx.received += 1
        transit = (int(now * rx.clock_rate) - ts) & 0xFFFFFFFF
        last = rx.transit
        if last is not None:
            d = (transit - last) & 0xFFFFFFFF
            if d >= 0x80000000:
                d = 0x100000000 - d
            if d < rx.clock_rate * 10:
                rx.jitter += (d - rx.jitter) / 16.0
        rx.transit = transit


class RelayReader:
    """One direction of a bridged call in the common case: same codec both ways, no
    recording, no prompt, echo or outgoing digit on the destination."""

    __slots__ = (
        "recv",
        "endpoint",
        "stats",
        "rx",
        "pt_in",
        "ssrc",
        "resync",
        "out",
        "pt_out",
        "dst",
        "dst_sock",
        "dst_addr",
        "dst_stats",
    )

    def __init__(
        self,
        endpoint: RtpEndpoint,
        stats: LegStats,
        rx: ReceiveStats,
        payload_type: int,
        resync: Resync,
        *,
        out: StreamRewriter,
        out_payload_type: int,
        dst: RtpEndpoint,
        dst_stats: LegStats,
    ) -> None:
        self.recv = endpoint.sock.recv
        self.endpoint = endpoint
        self.stats = stats
        self.rx = rx
        self.pt_in = payload_type
        self.resync = resync
        self.out = out
        self.pt_out = out_payload_type
        self.dst = dst
        self.dst_sock: socket.socket = dst.sock
        # A connected destination sends with send(); otherwise sendto() its address.
        self.dst_addr: Addr | None = None if dst.connected else dst.remote_addr
        self.dst_stats = dst_stats
        self.ssrc = resync()

    def read(self) -> None:
        try:
            data = self.recv(MAX_DATAGRAM)
        except BlockingIOError:
            return
        except OSError as exc:
            self.endpoint.socket_errors += 1
            log.debug("rtp socket error on port %d: %s", self.endpoint.port, exc)
            return
        now = monotonic()
        endpoint = self.endpoint
        endpoint.last_rx = now
        if len(data) <= HEADER_SIZE or data[0] != PLAIN_V2 or (data[1] & 0x7F) != self.pt_in:
            endpoint.receive_general(data)
            self.ssrc = self.resync()
            return
        seq, ts, ssrc = SEQ_TS_SSRC.unpack_from(data, 2)
        if ssrc != self.ssrc:
            endpoint.receive_general(data)
            self.ssrc = self.resync()
            return
        samples = len(data) - HEADER_SIZE
        stats = self.stats
        stats.packets_received += 1
        stats.bytes_received += samples
        # ReceiveStats.update inlined (RFC 3550 A.1 sequence tracking, A.8 jitter): the
        # same arithmetic, one method call less per packet. Guarded by
        # tests/unit/media/test_fastpath.py (fast and general paths give equal stats).
        rx = self.rx
        delta = (seq - rx.max_seq) & 0xFFFF
        if delta < MAX_DROPOUT:
            if seq < rx.max_seq:
                rx.cycles += SEQ_MOD
            rx.max_seq = seq
        elif delta <= SEQ_MOD - MAX_MISORDER:
            rx.reset(seq)
        rx.received += 1
        transit = (int(now * rx.clock_rate) - ts) & 0xFFFFFFFF
        last = rx.transit
        if last is not None:
            d = (transit - last) & 0xFFFFFFFF
            if d >= 0x80000000:
                d = 0x100000000 - d
            if d < rx.clock_rate * 10:
                rx.jitter += (d - rx.jitter) / 16.0
        rx.transit = transit
        # StreamRewriter.relay() with the source unchanged: fixed offsets, and the next
        # local seq/ts moved past the newest packet sent.
        out = self.out
        out_seq = (seq + out.seq_offset) & 0xFFFF
        out_ts = (ts + out.ts_offset) & 0xFFFFFFFF
        if (out_seq - out.seq) & 0xFFFF < 0x8000:
            out.seq = (out_seq + 1) & 0xFFFF
        end_ts = (out_ts + samples) & 0xFFFFFFFF
        if 0 < (end_ts - out.ts) & 0xFFFFFFFF < 0x80000000:
            out.ts = end_ts
        packet = (
            HEADER.pack(PLAIN_V2, (data[1] & 0x80) | self.pt_out, out_seq, out_ts, out.ssrc)
            + data[HEADER_SIZE:]
        )
        try:
            if self.dst_addr is None:
                self.dst_sock.send(packet)
            else:
                self.dst_sock.sendto(packet, self.dst_addr)
        except OSError as exc:
            self.dst.socket_errors += 1
            log.debug("rtp send on port %d failed: %s", self.dst.port, exc)
            return
        dst_stats = self.dst_stats
        dst_stats.packets_sent += 1
        dst_stats.bytes_sent += samples
