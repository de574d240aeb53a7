"""RtpEndpoint: an RTP/RTCP socket pair on asyncio datagram transports.

- Ports come from a configurable range: even RTP port, RTCP on port + 1 (RFC 3550 11).
- Symmetric RTP (RFC 4961): we send to where the peer's RTP comes from. We latch to the
  first source of valid RTP and re-latch when the source changes after a gap (a phone
  behind NAT whose binding changed); other sources are dropped meanwhile.
- Nothing raises out of a datagram callback: bad packets are counted, logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any, cast

from media.rtp import RtpError, RtpPacket, is_rtcp, parse_rtcp, parse_rtp

log = logging.getLogger(__name__)

Addr = tuple[str, int]
MAX_DATAGRAM = 2048


class NoFreePort(OSError):
    """Every even port in the range is taken."""


class PortAllocator:
    """Hands out even ports from [low, high) round-robin, skipping ports in use."""

    def __init__(self, low: int, high: int) -> None:
        if low < 1024 or high > 65536 or high - low < 2:
            raise ValueError(f"port range {low}-{high} must lie in 1024..65535 and hold a pair")
        self.low = low + (low % 2)
        self.high = high
        self._next = self.low
        self._in_use: set[int] = set()

    def candidates(self) -> list[int]:
        ports = list(range(self.low, self.high - 1, 2))
        start = (self._next - self.low) // 2
        return [p for p in ports[start:] + ports[:start] if p not in self._in_use]

    def taken(self, port: int) -> None:
        self._in_use.add(port)
        self._next = port + 2 if port + 2 < self.high - 1 else self.low

    def release(self, port: int) -> None:
        self._in_use.discard(port)


class _Protocol(asyncio.DatagramProtocol):
    __slots__ = ("handler", "transport")

    def __init__(self, handler: Callable[[bytes, Addr], None]) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        # Stock asyncio reads each datagram into a 256 KiB buffer; 2 KiB is plenty for RTP
        # and cuts the CPU per packet by half or more (uvloop ignores this attribute).
        if hasattr(transport, "max_size"):
            transport.max_size = MAX_DATAGRAM

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.handler(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the peer may come back; keep going.
        log.debug("rtp socket error: %s", exc)


class RtpEndpoint:
    """One RTP port and its RTCP port, with latching. Set on_packet (and on_rtcp) to
    receive; call send() to transmit to the latched (or signalled) address."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        rtp: asyncio.DatagramTransport,
        rtcp: asyncio.DatagramTransport,
        relatch_after: float,
        allocator: PortAllocator | None,
    ) -> None:
        self.host = host
        self.port = port
        self._rtp = rtp
        self._rtcp = rtcp
        self._allocator = allocator
        self._loop = asyncio.get_running_loop()
        self.relatch_after = relatch_after
        self.remote_addr: Addr | None = None
        self._signalled: Addr | None = None
        self.remote_rtcp_addr: Addr | None = None
        self.latched = False
        self.last_rx: float | None = None
        self.invalid_packets = 0
        self.dropped_foreign = 0
        self.on_packet: Callable[[RtpPacket], None] | None = None
        self.on_rtcp: Callable[[list[object]], None] | None = None
        self.closed = False

    @classmethod
    async def open(
        cls,
        host: str,
        allocator: PortAllocator,
        *,
        relatch_after: float = 0.5,
    ) -> RtpEndpoint:
        loop = asyncio.get_running_loop()
        for port in allocator.candidates():
            rtp_proto = _Protocol(_unset)
            rtcp_proto = _Protocol(_unset)
            try:
                rtp_t, _ = await loop.create_datagram_endpoint(
                    _const(rtp_proto), local_addr=(host, port), family=_family(host)
                )
            except OSError:
                continue
            try:
                rtcp_t, _ = await loop.create_datagram_endpoint(
                    _const(rtcp_proto), local_addr=(host, port + 1), family=_family(host)
                )
            except OSError:
                rtp_t.close()
                continue
            allocator.taken(port)
            endpoint = cls(
                host=host,
                port=port,
                rtp=rtp_t,
                rtcp=rtcp_t,
                relatch_after=relatch_after,
                allocator=allocator,
            )
            rtp_proto.handler = endpoint._rtp_received
            rtcp_proto.handler = endpoint._rtcp_received
            return endpoint
        raise NoFreePort(f"no free RTP port pair in {allocator.low}-{allocator.high}")

    def set_remote(self, rtp: Addr | None, rtcp: Addr | None = None) -> None:
        """The address from SDP; used until (and unless) we latch onto real RTP. A new
        address in a later offer/answer (re-INVITE) drops the latch."""
        if rtp != self._signalled:
            self._signalled = rtp
            self.latched = False
        if not self.latched:
            self.remote_addr = rtp
            self.remote_rtcp_addr = rtcp or ((rtp[0], rtp[1] + 1) if rtp else None)

    def _rtp_received(self, data: bytes, addr: Addr) -> None:
        try:
            packet = parse_rtp(data)
        except RtpError as exc:
            self.invalid_packets += 1
            log.debug("dropped invalid RTP from %s: %s", addr, exc)
            return
        now = self._loop.time()
        if addr != self.remote_addr or not self.latched:
            if (
                self.latched
                and self.last_rx is not None
                and now - self.last_rx < self.relatch_after
            ):
                # Another source while the latched one is alive: not ours.
                self.dropped_foreign += 1
                return
            # RFC 4961 (symmetric RTP): send back to where the media comes from.
            self.remote_addr = addr
            if (
                not self.latched
                or self.remote_rtcp_addr is None
                or (self.remote_rtcp_addr[0] != addr[0])
            ):
                self.remote_rtcp_addr = (addr[0], addr[1] + 1)
            self.latched = True
        self.last_rx = now
        handler = self.on_packet
        if handler is not None:
            try:
                handler(packet)
            except Exception:
                log.exception("RTP handler failed on %r", packet)

    def _rtcp_received(self, data: bytes, addr: Addr) -> None:
        if not is_rtcp(data):
            self.invalid_packets += 1
            return
        try:
            packets = parse_rtcp(data)
        except Exception as exc:  # aiortc raises ValueError and struct.error
            self.invalid_packets += 1
            log.debug("dropped invalid RTCP from %s: %s", addr, exc)
            return
        if self.latched and self.remote_addr and addr[0] == self.remote_addr[0]:
            self.remote_rtcp_addr = addr
        handler = self.on_rtcp
        if handler is not None:
            try:
                handler(packets)
            except Exception:
                log.exception("RTCP handler failed")

    def send(self, data: bytes) -> bool:
        addr = self.remote_addr
        if addr is None or self.closed:
            return False
        self._rtp.sendto(data, addr)
        return True

    def send_rtcp(self, data: bytes) -> bool:
        addr = self.remote_rtcp_addr
        if addr is None or self.closed:
            return False
        self._rtcp.sendto(data, addr)
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.on_packet = None
        self.on_rtcp = None
        for transport in (self._rtp, self._rtcp):
            protocol = transport.get_protocol()
            if isinstance(protocol, _Protocol):
                protocol.handler = _unset  # it pointed back at this endpoint
            transport.close()
        if self._allocator is not None:
            self._allocator.release(self.port)


def _const(protocol: _Protocol) -> Callable[[], _Protocol]:
    return lambda: protocol


def _unset(data: bytes, addr: Addr) -> None:
    return None


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
