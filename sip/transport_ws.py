"""SIP over WebSocket (RFC 7118), message-oriented and I/O-free at its core.

Theory of operation
-------------------
The WebSocket handshake and framing belong to the web server (the page and
its phone share one port); this module is what it feeds.  For each
accepted WebSocket connection the edge calls :meth:`WsTransport.opened`
with two plain callables, ``send_text`` and ``close``, then
:meth:`WsTransport.received` with each WebSocket message and
:meth:`WsTransport.lost` when the socket is gone.  Everything else (framing
rules, limits, flows, clean-up) is here and needs nothing but the standard
library.

* RFC 7118 §5.1: "Each SIP message MUST be carried within a single
  WebSocket message, and a WebSocket message MUST NOT contain more than one
  SIP message."  A WebSocket message is parsed as a whole (like a
  datagram, so Content-Length may be absent); a message over
  :data:`~sip.parser.MAX_MESSAGE` closes the connection (1009).
* RFC 7118 §5.2: the Via of a browser names ``SIP/2.0/WS(S)`` and an
  ``.invalid`` host: a response goes back over the connection the request
  came on, found by the connection's :class:`Target` (``ws``/``wss`` and
  the peer's address), never by the Via.
* Keep-alive: a WebSocket message of CRLFs only is an RFC 5626 §3.5.1 ping
  (SIP.js sends ``CRLF CRLF``); it is answered with one CRLF pong and does
  not count as a message (it keeps NATs open, not idle connections).
* The limits of TCP (:class:`~sip.tcp_guard.TcpGuard`): at most
  ``max_per_source`` connections from one address, idle connections
  closed unless they carry a registration or a dialog, and a bounded queue
  of unsent messages per connection.
* RFC 7118 §5 / RFC 5626 §5.3: a WebSocket client cannot be reached in any
  other way than the connection it opened, so when a connection is lost
  ``on_closed`` tells the registrar, which removes the bindings over it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sip.errors import SipParseError
from sip.guard_alarm import GuardAlarm
from sip.parser import MAX_MESSAGE, parse_error_response, parse_message
from sip.tcp_guard import TcpGuard, TcpLimits
from sip.transport_types import (
    ClosedHandler,
    ErrorHandler,
    MessageHandler,
    Target,
    no_error_handler,
)

log = logging.getLogger("jono.sip.transport")

#: RFC 6455 §7.4.1 close codes the edge passes to the socket.
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_GOING_AWAY = 1001
#: Unsent messages a slow reader may have waiting before it is cut off.
MAX_QUEUED = 256


def _no_closed_handler(target: Target) -> None:
    pass


@dataclass(eq=False, slots=True)
class WsConnection:
    """One accepted WebSocket: the edge's callables and its peer."""

    peer: Target
    send_text: Callable[[str], bool]
    close: Callable[[int, str], None]
    closing: bool = False


class WsTransport:
    """SIP over WebSocket: ``name`` is ``ws`` or ``wss`` (TLS is the web server's)."""

    def __init__(
        self, on_message: MessageHandler, limits: TcpLimits | None = None,
        on_error: ErrorHandler = no_error_handler, on_closed: ClosedHandler = _no_closed_handler,
        *, name: str = "ws",
    ) -> None:
        if name not in ("ws", "wss"):
            raise ValueError(f"a WebSocket transport is 'ws' or 'wss', not {name!r}")
        self.name = name
        self.on_message = on_message
        self.on_error = on_error
        self.on_closed = on_closed
        self.guard = TcpGuard(limits)
        self.connections: dict[Target, WsConnection] = {}
        self._alarm = GuardAlarm(self._on_timer)
        self._refusing: set[str] = set()

    @property
    def limits(self) -> TcpLimits:
        return self.guard.limits

    @limits.setter
    def limits(self, limits: TcpLimits) -> None:
        self.guard.limits = limits

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    # -- the edge feeds these ----------------------------------------------------
    def opened(
        self, host: str, port: int, send_text: Callable[[str], bool],
        close: Callable[[int, str], None],
    ) -> WsConnection | None:
        """A WebSocket with subprotocol ``sip`` was accepted; None: refused (close it, 1008).

        ``send_text`` queues one WebSocket text message and returns False when
        it cannot (the socket is gone or its queue is full)."""
        peer = Target(self.name, host, port)
        if not self.guard.accept(peer, host, self._now(), accepted=True):
            if host not in self._refusing:
                self._refusing.add(host)
                log.warning("%s: refusing connections from %s: %d open (max_per_source)",
                            self.name, host, self.guard.connections_from(host))
            return None
        conn = WsConnection(peer=peer, send_text=send_text, close=close)
        self.connections[peer] = conn
        self._schedule()
        return conn

    def received(self, conn: WsConnection, data: str | bytes) -> None:
        """One whole WebSocket message arrived (text or binary). Never raises."""
        if conn.closing or self.connections.get(conn.peer) is not conn:
            return
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        if len(raw) > MAX_MESSAGE:
            log.info("closing %s: message of %d bytes (max %d)", conn.peer, len(raw), MAX_MESSAGE)
            self._close(conn, CLOSE_TOO_BIG, "message too big")
            return
        if not raw.strip(b"\r\n"):
            # RFC 5626 §3.5.1: a CRLFCRLF ping gets a CRLF pong; not a message.
            if raw:
                conn.send_text("\r\n")
            return
        try:
            message = parse_message(raw)
        except SipParseError as err:
            # §5.1: the message is whole, so the connection stays usable.
            reply = parse_error_response(raw, err)
            if reply is not None:
                conn.send_text(reply.decode("utf-8", "replace"))
                log.info("400 to %s: %s", conn.peer, err.reason)
            else:
                log.info("dropped malformed message from %s: %s", conn.peer, err.reason)
            self._activity(conn.peer, messages=0)
            return
        self._activity(conn.peer, messages=1)
        try:
            self.on_message(message, conn.peer)
        except Exception:  # one bad message never harms the transport
            log.exception("error handling message from %s", conn.peer)

    def lost(self, conn: WsConnection) -> None:
        """The socket is gone (closed by either side, or broken)."""
        if self.connections.get(conn.peer) is not conn:
            return
        del self.connections[conn.peer]
        self.guard.closed(conn.peer)
        host = conn.peer.host
        if host in self._refusing and self.guard.connections_from(host) < self.limits.max_per_source:
            self._refusing.discard(host)
        try:
            self.on_closed(conn.peer)
        except Exception:
            log.exception("error after %s closed", conn.peer)

    # -- FlowTransport ---------------------------------------------------------------
    def send(self, data: bytes, target: Target) -> None:
        conn = self.connections.get(target)
        if conn is None or conn.closing:
            # RFC 7118 §5: no way to reach a WebSocket client but its connection.
            log.info("%s: no connection to %s", self.name, target)
            asyncio.get_running_loop().call_soon(self.on_error, target)
            return
        if not conn.send_text(data.decode("utf-8", "surrogateescape")):
            log.info("closing %s: cannot take more messages", target)
            self._close(conn, CLOSE_POLICY, "too slow")
            asyncio.get_running_loop().call_soon(self.on_error, target)

    def keep(self, target: Target, until: float) -> None:
        self.guard.keep(target, until)
        self._schedule()

    def hold(self, target: Target) -> None:
        self.guard.hold(target)

    def release(self, target: Target) -> None:
        self.guard.release(target, self._now())
        self._schedule()

    def close(self) -> None:
        self._alarm.cancel()
        for conn in list(self.connections.values()):
            self._close(conn, CLOSE_GOING_AWAY, "server stopping")

    # -- limits --------------------------------------------------------------------------
    def _close(self, conn: WsConnection, code: int, reason: str) -> None:
        if conn.closing:
            return
        conn.closing = True
        try:
            conn.close(code, reason)
        except Exception:
            log.exception("closing %s failed", conn.peer)

    def _activity(self, peer: Target, *, messages: int) -> None:
        self.guard.received(peer, self._now(), messages=messages, partial=False)
        self._schedule()

    def _schedule(self) -> None:
        self._alarm.arm(self.guard.next_deadline())

    def _on_timer(self) -> None:
        for peer, reason in self.guard.expired(self._now()):
            conn = self.connections.get(peer)  # type: ignore[call-overload]
            if conn is not None:
                log.info("closing %s connection %s: %s", self.name, peer, reason)
                self._close(conn, CLOSE_POLICY, reason)
        self._schedule()
