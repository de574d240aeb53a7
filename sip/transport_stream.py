"""SIP over connection-oriented byte streams: TCP, and TLS on top of it (RFC 3261 §18, §26).

One :class:`StreamTransport` is a listening server plus the outgoing
connections Jono opens on demand.  Given ``ssl`` contexts it is the TLS
transport: the same framing (:class:`~sip.parser.StreamParser`), the same
limits (:class:`~sip.tcp_guard.TcpGuard`: per source, message deadline,
idle) and the same flows worth keeping, with the handshake done by the
standard library's ``ssl`` module under asyncio.

RFC 3261 §18.2.2: a response goes back over the connection its request came
on; connections are keyed by the peer's address (:class:`Target`), so a
registration made over TLS is called back over that same connection
(RFC 5626 §5.3; see :meth:`sip.registrar.Binding.prefers_source`).
Nothing raises out of a protocol callback.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import cast

from sip.errors import SipParseError
from sip.guard_alarm import GuardAlarm
from sip.parser import StreamParser, parse_error_response
from sip.tcp_guard import TcpGuard, TcpLimits
from sip.transport_types import ErrorHandler, MessageHandler, Target, no_error_handler

log = logging.getLogger("jono.sip.transport")

CONNECT_TIMEOUT_S = 5.0


class _StreamConnection(asyncio.Protocol):
    def __init__(self, owner: StreamTransport, *, accepted: bool) -> None:
        self.owner = owner
        self.accepted = accepted
        self.parser = StreamParser()
        self.transport: asyncio.Transport | None = None
        self.peer: Target | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Target(self.owner.name, host, port)
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


class StreamTransport:
    """SIP over TCP (``ssl`` None) or TLS: a listening server plus outgoing connections.

    Every connection is watched by a :class:`~sip.tcp_guard.TcpGuard` (per
    source limit, message deadline, idle timeout); this edge only arms the
    loop timer at the guard's next deadline and closes what it returns.
    """

    def __init__(
        self, on_message: MessageHandler, limits: TcpLimits | None = None,
        on_error: ErrorHandler = no_error_handler, *, name: str = "tcp",
        server_ssl: ssl.SSLContext | None = None, client_ssl: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self.on_message = on_message
        self.on_error = on_error
        self.server_ssl = server_ssl
        self.client_ssl = client_ssl
        self.connections: dict[Target, _StreamConnection] = {}
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self._pending: dict[Target, list[bytes]] = {}
        self.guard = TcpGuard(limits)
        self._alarm = GuardAlarm(self._on_timer)
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
        # A TLS handshake must finish within the message deadline: a peer that
        # opens connections and never completes one is a slowloris too.
        handshake = self.limits.message_timeout if self.server_ssl is not None else None
        self.server = await loop.create_server(
            lambda: _StreamConnection(self, accepted=True), host, port, reuse_address=True,
            ssl=self.server_ssl, ssl_handshake_timeout=handshake,
        )
        self.port = int(self.server.sockets[0].getsockname()[1])

    # -- the guard ------------------------------------------------------------
    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def opened(self, conn: _StreamConnection) -> bool:
        assert conn.peer is not None
        host = conn.peer.host
        if not self.guard.accept(conn.peer, host, self._now(), accepted=conn.accepted):
            if host not in self._refusing:
                self._refusing.add(host)
                log.warning("%s: refusing connections from %s: %d open (max_per_source)",
                            self.name, host, self.guard.connections_from(host))
            return False
        self._schedule()
        return True

    def received(self, peer: Target, *, messages: int, partial: bool) -> None:
        self.guard.received(peer, self._now(), messages=messages, partial=partial)
        self._schedule()

    def lost(self, conn: _StreamConnection) -> None:
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
        self._alarm.arm(self.guard.next_deadline())

    def _on_timer(self) -> None:
        for peer, reason in self.guard.expired(self._now()):
            conn = self.connections.get(cast(Target, peer))
            if conn is not None and conn.transport is not None:
                log.info("closing %s connection %s: %s", self.name, peer, reason)
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
        # RFC 3261 §26.3.1: a TLS client verifies the server's certificate
        # when it can; the client context says how (see sip.tls).
        tls: dict[str, object] = {}
        if self.client_ssl is not None:
            tls = {"ssl": self.client_ssl, "server_hostname": target.host,
                   "ssl_handshake_timeout": CONNECT_TIMEOUT_S}
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(  # type: ignore[call-overload]
                    lambda: _StreamConnection(self, accepted=False), target.host, target.port,
                    **tls,
                ),
                timeout=CONNECT_TIMEOUT_S,
            )
        except (TimeoutError, OSError, ssl.SSLError) as err:
            log.info("%s connect to %s failed: %s", self.name, target, err)
            self._pending.pop(target, None)
            self.on_error(target)
            return
        conn = cast(_StreamConnection, conn)
        # The connection registered itself under its peer name; the target may
        # name the same peer differently (a host name): it becomes an alias.
        self.connections[target] = conn
        for data in self._pending.pop(target, []):
            if conn.transport is not None:
                conn.transport.write(data)

    def close(self) -> None:
        self._alarm.cancel()
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.close()
