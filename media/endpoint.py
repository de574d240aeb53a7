"""RtpEndpoint: an RTP/RTCP port pair; the RTP socket read straight from the event loop.

- Ports come from a configurable range: even RTP port, RTCP on port + 1 (RFC 3550 11).
- Symmetric RTP (RFC 4961): we send to where the peer's RTP comes from. We latch to the
  first source of valid RTP and re-latch when the source changes after a gap (a phone
  behind NAT whose binding changed); other sources are dropped meanwhile.
- Once latched, the RTP socket is *connected* to the source: the kernel then drops
  other sources for us, and receiving and sending skip the address on every packet
  (recv/send instead of recvfrom/sendto: about a quarter of the CPU per relayed packet).
  After ``relatch_after`` seconds without RTP, ``sweep()`` dissolves the association so
  a new source can be heard (and latched) again.
- The socket is a plain non-blocking socket watched with ``loop.add_reader``: the reader
  installed is either the general one (parse, latch, hand an RtpPacket to ``on_packet``)
  or a leg's fast reader (media/fastpath.py), which reads the connected socket itself.
- Nothing raises out of a reader: bad packets are counted, logged and dropped.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

from media.rtp import RtpError, RtpPacket, is_rtcp, parse_rtcp, parse_rtp

log = logging.getLogger(__name__)

Addr = tuple[str, int]
MAX_DATAGRAM = 2048
Reader = Callable[[], None]

_libc = ctypes.CDLL(None, use_errno=True)
_UNSPEC = (ctypes.c_ubyte * 16)()  # a sockaddr whose family is AF_UNSPEC (0)


def disconnect(sock: socket.socket) -> None:
    """Dissolve a UDP socket's association (connect(2): "connectionless sockets may
    dissolve the association by connecting to an address with the sa_family member of
    sockaddr set to AF_UNSPEC"). The explicitly bound port is kept."""
    if _libc.connect(sock.fileno(), _UNSPEC, ctypes.sizeof(_UNSPEC)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"cannot dissolve the UDP association: errno {errno}")


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

    def candidates(self) -> Iterator[int]:
        """Free even ports, from the one after the last taken, round the range once
        (lazily: a busy server tries the first one or two of thousands)."""
        for port in range(self._next, self.high - 1, 2):
            if port not in self._in_use:
                yield port
        for port in range(self.low, self._next, 2):
            if port not in self._in_use:
                yield port

    def taken(self, port: int) -> None:
        self._in_use.add(port)
        self._next = port + 2 if port + 2 < self.high - 1 else self.low

    def release(self, port: int) -> None:
        self._in_use.discard(port)


class _RtcpProtocol(asyncio.DatagramProtocol):
    __slots__ = ("handler", "transport")

    def __init__(self) -> None:
        self.handler: Callable[[bytes, Addr], None] = _unset
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        # Stock asyncio reads each datagram into a 256 KiB buffer; 2 KiB is plenty for RTCP
        # and cuts the CPU per packet by half or more (uvloop ignores this attribute).
        if hasattr(transport, "max_size"):
            transport.max_size = MAX_DATAGRAM

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.handler(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the peer may come back; keep going.
        log.debug("rtcp socket error: %s", exc)


class RtpEndpoint:
    """One RTP port and its RTCP port, with latching. Set on_packet (and on_rtcp) to
    receive; call send() to transmit to the latched (or signalled) address."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sock: socket.socket,
        rtcp: asyncio.DatagramTransport,
        relatch_after: float,
        allocator: PortAllocator | None,
    ) -> None:
        self.host = host
        self.port = port
        self.sock = sock
        self._fd = sock.fileno()
        self._rtcp = rtcp
        self._allocator = allocator
        self._loop = asyncio.get_running_loop()
        self.relatch_after = relatch_after
        self.remote_addr: Addr | None = None
        self._signalled: Addr | None = None
        self.remote_rtcp_addr: Addr | None = None
        self.latched = False
        self.connected = False
        self.last_rx: float | None = None
        self.invalid_packets = 0
        self.dropped_foreign = 0
        self.socket_errors = 0
        self.on_packet: Callable[[RtpPacket], None] | None = None
        self.on_rtcp: Callable[[list[object]], None] | None = None
        # Called when connected/remote_addr change: a fast path bound to them is stale.
        self.on_route_change: Callable[[], None] | None = None
        self._fast_reader: Reader | None = None
        self._reader: Reader | None = None
        self.closed = False
        self._install_reader()

    @classmethod
    async def open(
        cls,
        host: str,
        allocator: PortAllocator,
        *,
        relatch_after: float = 0.5,
    ) -> RtpEndpoint:
        loop = asyncio.get_running_loop()
        family = _family(host)
        for port in allocator.candidates():
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.bind((host, port))
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            rtcp_proto = _RtcpProtocol()
            try:
                rtcp_t, _ = await loop.create_datagram_endpoint(
                    _const(rtcp_proto), local_addr=(host, port + 1), family=family
                )
            except OSError:
                sock.close()
                continue
            allocator.taken(port)
            endpoint = cls(
                host=host,
                port=port,
                sock=sock,
                rtcp=rtcp_t,
                relatch_after=relatch_after,
                allocator=allocator,
            )
            rtcp_proto.handler = endpoint._rtcp_received
            return endpoint
        raise NoFreePort(f"no free RTP port pair in {allocator.low}-{allocator.high}")

    # ---- readers ---------------------------------------------------------------------

    def set_fast_reader(self, reader: Reader | None) -> None:
        """A reader that takes over the connected socket (see media/fastpath.py); None
        goes back to the general reader. Used only while connected."""
        self._fast_reader = reader
        self._install_reader()

    @property
    def fast(self) -> bool:
        return self._reader is not None and self._reader is self._fast_reader

    def _install_reader(self) -> None:
        if self.closed:
            return
        if self.connected:
            reader = self._fast_reader or self._read_connected
        else:
            reader = self._read_unconnected
        if reader is self._reader:
            return
        if self._reader is not None:
            self._loop.remove_reader(self._fd)
        self._reader = reader
        self._loop.add_reader(self._fd, reader)

    def _read_unconnected(self) -> None:
        try:
            data, addr = self.sock.recvfrom(MAX_DATAGRAM)
        except BlockingIOError:
            return
        except OSError as exc:
            self.socket_errors += 1
            log.debug("rtp socket error on port %d: %s", self.port, exc)
            return
        try:
            packet = parse_rtp(data)
        except RtpError as exc:
            self.invalid_packets += 1
            log.debug("dropped invalid RTP from %s: %s", addr, exc)
            return
        now = time.monotonic()
        if addr != self.remote_addr or not self.latched:
            if (
                self.latched
                and self.last_rx is not None
                and now - self.last_rx < self.relatch_after
            ):
                # Another source while the latched one is alive: not ours.
                self.dropped_foreign += 1
                return
            self._latch(addr)
        self.last_rx = now
        self._connect()
        self._deliver(packet)

    def _latch(self, addr: Addr) -> None:
        # RFC 4961 (symmetric RTP): send back to where the media comes from.
        self.remote_addr = addr
        if (
            not self.latched
            or self.remote_rtcp_addr is None
            or (self.remote_rtcp_addr[0] != addr[0])
        ):
            self.remote_rtcp_addr = (addr[0], addr[1] + 1)
        self.latched = True

    def _read_connected(self) -> None:
        try:
            data = self.sock.recv(MAX_DATAGRAM)
        except BlockingIOError:
            return
        except OSError as exc:
            self.socket_errors += 1
            log.debug("rtp socket error on port %d: %s", self.port, exc)
            return
        self.last_rx = time.monotonic()
        self.receive_general(data)

    def receive_general(self, data: bytes) -> None:
        """The general path for one datagram from the latched source (a fast reader
        hands over what it does not handle itself: DTMF events, odd headers, ...)."""
        try:
            packet = parse_rtp(data)
        except RtpError as exc:
            self.invalid_packets += 1
            log.debug("dropped invalid RTP on port %d: %s", self.port, exc)
            return
        self._deliver(packet)

    def _deliver(self, packet: RtpPacket) -> None:
        handler = self.on_packet
        if handler is not None:
            try:
                handler(packet)
            except Exception:
                log.exception("RTP handler failed on %r", packet)

    # ---- association -----------------------------------------------------------------

    def _connect(self) -> None:
        if self.connected or self.remote_addr is None or self.closed:
            return
        try:
            self.sock.connect(self.remote_addr)
        except OSError as exc:
            log.debug("cannot connect RTP port %d to %s: %s", self.port, self.remote_addr, exc)
            return
        self.connected = True
        self._install_reader()
        self._route_changed()

    def _disconnect(self) -> None:
        if not self.connected or self.closed:
            return
        disconnect(self.sock)
        self.connected = False
        self._install_reader()
        self._route_changed()

    def sweep(self, now: float) -> None:
        """Dissolve the association when the latched source has been silent for
        relatch_after: the next source to send is heard again (and latched)."""
        if self.connected and (self.last_rx is None or now - self.last_rx >= self.relatch_after):
            self._disconnect()

    def _route_changed(self) -> None:
        callback = self.on_route_change
        if callback is not None:
            callback()

    def set_remote(self, rtp: Addr | None, rtcp: Addr | None = None) -> None:
        """The address from SDP; used until (and unless) we latch onto real RTP. A new
        address in a later offer/answer (re-INVITE) drops the latch."""
        changed = False
        if rtp != self._signalled:
            self._signalled = rtp
            self.latched = False
            self._disconnect()
        if not self.latched:
            changed = self.remote_addr != rtp
            self.remote_addr = rtp
            self.remote_rtcp_addr = rtcp or ((rtp[0], rtp[1] + 1) if rtp else None)
        if changed:
            self._route_changed()

    # ---- RTCP ------------------------------------------------------------------------

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

    # ---- sending ---------------------------------------------------------------------

    def send(self, data: bytes | bytearray) -> bool:
        """Send one RTP datagram to the peer; False when there is nowhere to send it or
        the kernel refused it (a full socket buffer drops the packet, as RTP should)."""
        addr = self.remote_addr
        if addr is None or self.closed:
            return False
        try:
            if self.connected:
                self.sock.send(data)
            else:
                self.sock.sendto(data, addr)
        except OSError as exc:
            self.socket_errors += 1
            log.debug("rtp send on port %d failed: %s", self.port, exc)
            return False
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
        self.on_route_change = None
        self._fast_reader = None
        if self._reader is not None:
            self._loop.remove_reader(self._fd)
            self._reader = None
        self.sock.close()
        protocol = self._rtcp.get_protocol()
        if isinstance(protocol, _RtcpProtocol):
            protocol.handler = _unset  # it pointed back at this endpoint
        self._rtcp.close()
        if self._allocator is not None:
            self._allocator.release(self.port)


def _const(protocol: _RtcpProtocol) -> Callable[[], _RtcpProtocol]:
    return lambda: protocol


def _unset(data: bytes, addr: Addr) -> None:
    return None


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
