"""Thin asyncio transports for SIP (RFC 3261 §18): UDP here, and the set of all of them.

The transports only move bytes: they frame (TCP, TLS), parse, and hand whole
messages to a callback together with the :class:`Target` they came from.
A malformed message is answered with 400 when enough of it could be read to
build a response, otherwise it is dropped and logged (§18.3, RFC 4475 §1).
Nothing raises out of a protocol callback.

:class:`TransportSet` binds UDP and TCP to the same host and port, TLS to
its own port (:mod:`sip.transport_stream`), and takes further
connection-oriented transports (WebSocket, :mod:`sip.transport_ws`) that
implement :class:`~sip.transport_types.FlowTransport`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import cast

from sip.errors import SipParseError
from sip.parser import parse_error_response, parse_message
from sip.tcp_guard import TcpLimits
from sip.transport_stream import StreamTransport
from sip.transport_types import (
    CONNECTION_TRANSPORTS,
    ErrorHandler,
    FlowTransport,
    MessageHandler,
    Target,
    no_error_handler,
)

__all__ = [
    "CONNECTION_TRANSPORTS", "ErrorHandler", "FlowTransport", "MessageHandler", "StreamTransport",
    "Target", "TransportSet", "UdpTransport",
]

log = logging.getLogger("jono.sip.transport")

MAX_DATAGRAM = 65535


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


class TransportSet:
    """UDP and TCP bound to the same host and port; TLS and others on their own."""

    def __init__(
        self, on_message: MessageHandler, tcp_limits: TcpLimits | None = None,
        on_error: ErrorHandler = no_error_handler,
    ) -> None:
        self.on_message = on_message
        self.on_error = on_error
        self.udp = UdpTransport(on_message)
        self.tcp = StreamTransport(on_message, tcp_limits, on_error, name="tcp")
        self.tls: StreamTransport | None = None
        self.flows: dict[str, FlowTransport] = {"tcp": self.tcp}
        self.ports: dict[str, int] = {}
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
        self.ports.update(udp=self.port, tcp=self.port)

    async def start_tls(
        self, host: str, port: int, server: ssl.SSLContext, client: ssl.SSLContext
    ) -> int:
        """RFC 3261 §26.2.1: SIP over TLS on its own port (5061 by default); the
        port bound. Same limits as TCP."""
        tls = StreamTransport(
            self.on_message, self.tcp.limits, self.on_error, name="tls",
            server_ssl=server, client_ssl=client,
        )
        await tls.listen(host, port)
        self.tls = tls
        self.flows["tls"] = tls
        self.ports["tls"] = tls.port
        return tls.port

    def add(self, flow: FlowTransport, port: int) -> None:
        """A further connection-oriented transport (WebSocket), advertised on ``port``."""
        self.flows[flow.name] = flow
        self.ports[flow.name] = port

    def set_limits(self, limits: TcpLimits) -> None:
        """The plan's connection limits, for every stream transport (on reload too)."""
        for flow in self.flows.values():
            if hasattr(flow, "limits"):
                flow.limits = limits

    def port_for(self, transport: str) -> int:
        return self.ports.get(transport.lower(), self.port)

    def send(self, data: bytes, target: Target) -> None:
        try:
            if target.transport == "udp":
                self.udp.send(data, target)
                return
            flow = self.flows.get(target.transport)
            if flow is None:
                log.info("no %s transport: cannot send to %s", target.transport, target)
                asyncio.get_running_loop().call_soon(self.on_error, target)
                return
            flow.send(data, target)
        except Exception:  # a send failure is a transport error, never a crash
            log.exception("send to %s failed", target)

    # -- flows worth keeping (RFC 5626); no-ops for UDP -------------------
    def keep(self, target: Target, until: float) -> None:
        flow = self.flows.get(target.transport)
        if flow is not None:
            flow.keep(target, until)

    def hold(self, target: Target) -> None:
        flow = self.flows.get(target.transport)
        if flow is not None:
            flow.hold(target)

    def release(self, target: Target) -> None:
        flow = self.flows.get(target.transport)
        if flow is not None:
            flow.release(target)

    def close(self) -> None:
        if self.udp.transport is not None:
            self.udp.transport.close()
        for flow in self.flows.values():
            flow.close()
