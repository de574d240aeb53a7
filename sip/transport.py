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
    def __init__(self, owner: TcpTransport) -> None:
        self.owner = owner
        self.parser = StreamParser()
        self.transport: asyncio.Transport | None = None
        self.peer: Target | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Target("tcp", host, port)
        self.owner.connections[self.peer] = self

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None and self.transport is not None
        try:
            self.parser.feed(data)
            while True:
                message = self.parser.next_message()
                if message is None:
                    break
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
        if self.parser.pings_received:
            # RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong.
            self.transport.write(b"\r\n" * self.parser.pings_received)
            self.parser.pings_received = 0

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.owner.connections.get(self.peer) is self:
            del self.owner.connections[self.peer]


class TcpTransport:
    """SIP over TCP: a listening server plus outgoing connections on demand."""

    name = "tcp"

    def __init__(self, on_message: MessageHandler) -> None:
        self.on_message = on_message
        self.connections: dict[Target, _TcpConnection] = {}
        self.server: asyncio.base_events.Server | None = None
        self._pending: dict[Target, list[bytes]] = {}

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: _TcpConnection(self), host, port, reuse_address=True
        )

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
                loop.create_connection(lambda: _TcpConnection(self), target.host, target.port),
                timeout=5.0,
            )
        except (TimeoutError, OSError) as err:
            log.info("tcp connect to %s failed: %s", target, err)
            self._pending.pop(target, None)
            return
        # The connection registered itself under its peer name, which is the target.
        self.connections[target] = conn
        for data in self._pending.pop(target, []):
            if conn.transport is not None:
                conn.transport.write(data)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.close()


class TransportSet:
    """UDP and TCP bound to the same host and port."""

    def __init__(self, on_message: MessageHandler) -> None:
        self.udp = UdpTransport(on_message)
        self.tcp = TcpTransport(on_message)
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

    def close(self) -> None:
        if self.udp.transport is not None:
            self.udp.transport.close()
        self.tcp.close()
