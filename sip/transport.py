"""Thin asyncio transports for SIP: UDP and TCP on the same port (RFC 3261 §18).

The transports only move bytes: they frame (TCP), parse, and hand whole
messages to a callback together with the :class:`Target` they came from.
A malformed message is answered with 400 when enough of it could be read to
build a response, otherwise it is dropped and logged (§18.3, RFC 4475 §1).
Nothing raises out of a protocol callback.

TLS and WebSocket transports will implement the same :class:`Transport`
interface: ``send(data, target)`` and the ``on_message`` callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sip.errors import SipParseError
from sip.message import Request, Response
from sip.parser import StreamParser, parse_error_response, parse_message
from sip.tcp_guard import TcpGuard, TcpLimits

log = logging.getLogger("jono.sip.transport")

MAX_DATAGRAM = 65535


@dataclass(frozen=True, slots=True)
class Target:
    """Where a message goes to or came from: transport name, host and port."""

    transport: str
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}:{host}:{self.port}"


MessageHandler = Callable[[Request | Response, Target], None]
ErrorHandler = Callable[[Target], None]
"""Told when messages for a target could not be sent (RFC 3261 §18.4)."""


def _no_error_handler(target: Target) -> None:
    pass


class UdpTransport(asyncio.DatagramProtocol):
    """SIP over UDP; one socket for sending and receiving."""

    name = "udp"

    def __init__(self, on_message: MessageHandler) -> None:
        self.on_message = on_message
        self.transport: asyncio.DatagramTransport | None = None
        self.local: tuple[str, int] = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport is not an asyncio.DatagramTransport subclass.
        self.transport = cast(asyncio.DatagramTransport, transport)
        # Stock asyncio reads datagrams with a 256 KiB buffer; SIP needs 64 KiB.
        if hasattr(transport, "max_size"):
            transport.max_size = MAX_DATAGRAM
        sockname = transport.get_extra_info("sockname")
        self.local = (sockname[0], sockname[1])

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        source = Target("udp", addr[0], addr[1])
        # RFC 5626 §3.5.1 keep-alives: a bare CRLF (or double CRLF) is not a message.
        if not data.strip():
            return
        try:
            message = parse_message(data)
        except SipParseError as err:
            self._reject(data, err, source)
            return
        try:
            self.on_message(message, source)
        except Exception:  # one bad message never harms the transport
            log.exception("error handling message from %s", source)

    def _reject(self, data: bytes, err: SipParseError, source: Target) -> None:
        reply = parse_error_response(data, err)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, (source.host, source.port))
            log.info("400 to %s: %s", source, err.reason)
        else:
            log.info("dropped malformed datagram from %s: %s", source, err.reason)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)

    def send(self, data: bytes, target: Target) -> None:
        if self.transport is not None:
            self.transport.sendto(data, (target.host, target.port))


class _TcpConnection(asyncio.Protocol):
    def __init__(self, owner: TcpTransport, *, accepted: bool) -> None:
        self.owner = owner
        self.accepted = accepted
        self.parser = StreamParser()
        self.transport: asyncio.Transport | None = None
        self.peer: Target | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Target("tcp", host, port)
        if not self.owner.opened(self):
            self.peer = None
            self.transport.abort()
            return
        self.owner.connections[self.peer] = self

    def data_received(self, data: bytes) -> None:
        if self.peer is None or self.transport is None:
            return
        messages = 0
        try:
            self.parser.feed(data)
            while True:
                message = self.parser.next_message()
                if message is None:
                    break
                messages += 1
                try:
                    self.owner.on_message(message, self.peer)
                except Exception:
                    log.exception("error handling message from %s", self.peer)
        except SipParseError as err:
            # The stream cannot be re-synchronised after a framing error (§18.3).
            reply = parse_error_response(self.parser.pending_bytes(), err)
            if reply is not None:
                self.transport.write(reply)
            log.info("closing %s after bad message: %s", self.peer, err.reason)
            self.transport.close()
            return
        if self.parser.pings_received:
            # RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong.
            self.transport.write(b"\r\n" * self.parser.pings_received)
            self.parser.pings_received = 0
        self.owner.received(self.peer, messages=messages, partial=self.parser.buffered > 0)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.owner.lost(self)


class TcpTransport:
    """SIP over TCP: a listening server plus outgoing connections on demand.

    Every connection is watched by a :class:`~sip.tcp_guard.TcpGuard` (per
    source limit, message deadline, idle timeout); this edge only arms the
    loop timer at the guard's next deadline and closes what it returns.
    """

    name = "tcp"

    def __init__(
        self, on_message: MessageHandler, limits: TcpLimits | None = None,
        on_error: ErrorHandler = _no_error_handler,
    ) -> None:
        self.on_message = on_message
        self.on_error = on_error
        self.connections: dict[Target, _TcpConnection] = {}
        self.server: asyncio.base_events.Server | None = None
        self._pending: dict[Target, list[bytes]] = {}
        self.guard = TcpGuard(limits)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._refusing: set[str] = set()

    @property
    def limits(self) -> TcpLimits:
        return self.guard.limits

    @limits.setter
    def limits(self, limits: TcpLimits) -> None:
        """New limits apply to the next deadline each connection reaches."""
        self.guard.limits = limits

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: _TcpConnection(self, accepted=True), host, port, reuse_address=True
        )

    # -- the guard ------------------------------------------------------------
    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def opened(self, conn: _TcpConnection) -> bool:
        assert conn.peer is not None
        host = conn.peer.host
        if not self.guard.accept(conn.peer, host, self._now(), accepted=conn.accepted):
            if host not in self._refusing:
                self._refusing.add(host)
                log.warning("tcp: refusing connections from %s: %d open (max_per_source)",
                            host, self.guard.connections_from(host))
            return False
        self._schedule()
        return True

    def received(self, peer: Target, *, messages: int, partial: bool) -> None:
        self.guard.received(peer, self._now(), messages=messages, partial=partial)
        self._schedule()

    def lost(self, conn: _TcpConnection) -> None:
        peer = conn.peer
        assert peer is not None
        if self.connections.get(peer) is conn:
            del self.connections[peer]
            self.guard.closed(peer)
            if peer.host in self._refusing and (
                self.guard.connections_from(peer.host) < self.guard.limits.max_per_source
            ):
                self._refusing.discard(peer.host)

    def _key(self, target: Target) -> Target:
        conn = self.connections.get(target)
        return conn.peer if conn is not None and conn.peer is not None else target

    def keep(self, target: Target, until: float) -> None:
        """Keep the connection to ``target`` open until ``until`` (a registration flow)."""
        self.guard.keep(self._key(target), until)
        self._schedule()

    def hold(self, target: Target) -> None:
        """A dialog uses the connection to ``target``: never close it as idle."""
        self.guard.hold(self._key(target))

    def release(self, target: Target) -> None:
        self.guard.release(self._key(target), self._now())
        self._schedule()

    def _schedule(self) -> None:
        deadline = self.guard.next_deadline()
        if deadline is None:
            return
        if self._timer is not None and self._timer_at is not None and self._timer_at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        for peer, reason in self.guard.expired(self._now()):
            conn = self.connections.get(cast(Target, peer))
            if conn is not None and conn.transport is not None:
                log.info("closing tcp connection %s: %s", peer, reason)
                conn.transport.close()
        self._schedule()

    # -- sending --------------------------------------------------------------
    def send(self, data: bytes, target: Target) -> None:
        conn = self.connections.get(target)
        if conn is not None and conn.transport is not None and not conn.transport.is_closing():
            conn.transport.write(data)
            return
        queue = self._pending.get(target)
        if queue is not None:
            queue.append(data)
            return
        self._pending[target] = [data]
        asyncio.get_running_loop().create_task(self._connect(target))

    async def _connect(self, target: Target) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _TcpConnection(self, accepted=False), target.host, target.port
                ),
                timeout=5.0,
            )
        except (TimeoutError, OSError) as err:
            log.info("tcp connect to %s failed: %s", target, err)
            self._pending.pop(target, None)
            self.on_error(target)
            return
        # The connection registered itself under its peer name; the target may
        # name the same peer differently (a host name): it becomes an alias.
        self.connections[target] = conn
        for data in self._pending.pop(target, []):
            if conn.transport is not None:
                conn.transport.write(data)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.close()


class TransportSet:
    """UDP and TCP bound to the same host and port."""

    def __init__(
        self, on_message: MessageHandler, tcp_limits: TcpLimits | None = None,
        on_error: ErrorHandler = _no_error_handler,
    ) -> None:
        self.udp = UdpTransport(on_message)
        self.tcp = TcpTransport(on_message, tcp_limits, on_error)
        self.host = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self.udp, local_addr=(host, port)
        )
        sockname = transport.get_extra_info("sockname")
        self.host, self.port = sockname[0], sockname[1]
        await self.tcp.listen(host, self.port)

    def send(self, data: bytes, target: Target) -> None:
        try:
            if target.transport == "tcp":
                self.tcp.send(data, target)
            else:
                self.udp.send(data, target)
        except Exception:  # a send failure is a transport error, never a crash
            log.exception("send to %s failed", target)

    # -- flows worth keeping (RFC 5626); no-ops for UDP -------------------
    def keep(self, target: Target, until: float) -> None:
        if target.transport == "tcp":
            self.tcp.keep(target, until)

    def hold(self, target: Target) -> None:
        if target.transport == "tcp":
            self.tcp.hold(target)

    def release(self, target: Target) -> None:
        if target.transport == "tcp":
            self.tcp.release(target)

    def close(self) -> None:
        if self.udp.transport is not None:
            self.udp.transport.close()
        self.tcp.close()
