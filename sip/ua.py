"""The user agent core (RFC 3261 §8, §12, §13): the asyncio edge of the stack.

Theory of operation
-------------------
:class:`UserAgent` owns the transports, the sans-I/O
:class:`~sip.transaction.layer.TransactionLayer` and the only clock.  Bytes
arrive, the transports parse them, the layer matches them to transactions
and returns events; the user agent performs the events (send bytes, arm
the one timer handle at the layer's next deadline) and hands requests to
their owner: a dialog's leg for in-dialog requests, else the application's
:class:`RequestHandler`.

Checks that every UAS must make before a request reaches the application
(§8.2: method, Require, merged requests, Max-Forwards) live here, so the
application only sees requests it can act on.

Timers above the transaction layer (2xx retransmission, CANCEL give-up,
registration refresh) are data too: their owners arm named deadlines in
:attr:`UserAgent.timers` (:class:`~sip.timer_queue.TimerQueue`) and the one
loop timer here fires whichever of the two is due first.

TCP flows worth keeping (RFC 5626): a 2xx to a REGISTER received
over TCP keeps its connection open until the binding expires, and a dialog
holds its connection while it lasts (see :mod:`sip.tcp_guard`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from sip.dialog import Dialog, new_branch, new_tag
from sip.errors import SipError
from sip.headers import Via
from sip.message import Request, Response, make_response
from sip.tcp_guard import TcpLimits
from sip.timer_queue import TimerOwner, TimerQueue
from sip.timers import TimerConfig
from sip.transaction.base import ServerTransaction
from sip.transaction.layer import (
    LayerEvent,
    RequestReceived,
    ResponseReceived,
    SendMessage,
    StrayResponse,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
)
from sip.transport import Target, TransportSet
from sip.transport_ws import WsTransport

log = logging.getLogger("jono.sip.ua")

# Methods this user agent acts on; listed in Allow (RFC 3261 §20.5).  REFER
# transfers calls (RFC 3515); SUBSCRIBE is for message-summary (RFC 3842).
ALLOWED = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "REFER", "SUBSCRIBE")
# Methods we know but do not act on: 405 with Allow (§8.2.1).  Others: 501.
KNOWN_NOT_ALLOWED = frozenset({"PRACK", "NOTIFY", "MESSAGE", "PUBLISH", "UPDATE"})
# Option tags we understand in Require (§8.2.2.3): Replaces (RFC 3891 §6.1)
# and REFER without a subscription (RFC 4488 §4).
SUPPORTED: frozenset[str] = frozenset({"replaces", "norefersub"})
SUPPORTED_HEADER = ", ".join(sorted(SUPPORTED))
ALLOW_HEADER = ", ".join(ALLOWED)

ResponseCallback = Callable[[Response | None, str], None]
"""Called with each response to a client transaction, or ``(None, reason)``
on timeout or transport failure."""


class DialogOwner(Protocol):
    def on_dialog_request(self, request: Request, txn: object | None, source: Target) -> None: ...


class CancelListener(Protocol):
    """The UAS leg of an INVITE that a CANCEL may end (RFC 3261 §9.2)."""

    local_tag: str

    def on_cancel(self, cancel: Request) -> None: ...


class RequestHandler(Protocol):
    """What the application implements to receive out-of-dialog requests."""

    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None: ...


class UserAgent:
    def __init__(
        self,
        handler: RequestHandler,
        *,
        public_host: str | None = None,
        timers: TimerConfig | None = None,
        user_agent: str = "Jono",
        tcp_limits: TcpLimits | None = None,
    ) -> None:
        self.handler = handler
        self.transports = TransportSet(self._on_message, tcp_limits, self._transport_failed)
        self.layer = TransactionLayer(timers or TimerConfig())
        self.timers = TimerQueue()
        self.public_host = public_host
        self.user_agent = user_agent
        self.dialogs: dict[tuple[str, str, str], DialogOwner] = {}
        self._callbacks: dict[int, ResponseCallback] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # §8.2.2.2 merged requests: (from tag, call-id, cseq) -> branch.
        self._in_progress: dict[tuple[str, str, str], str] = {}
        self.cancel_listeners: dict[int, CancelListener] = {}
        self.responses_sent: dict[int, int] = {}  # by status code, for metrics
        # Told when a connection only its peer can open is gone (a WebSocket).
        self.flow_closed: list[Callable[[Target], None]] = []

    # -- lifecycle ----------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        self._loop = asyncio.get_running_loop()
        await self.transports.start(host, port)
        if not self.public_host:
            self.public_host = self.transports.host

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.transports.close()

    def add_websocket(self, name: str, port: int) -> WsTransport:
        """SIP over WebSocket (RFC 7118) fed by a web server on ``port``: ``ws`` or ``wss``."""
        transport = WsTransport(
            self._on_message, self.transports.tcp.limits, self._transport_failed,
            self._flow_closed, name=name,
        )
        self.transports.add(transport, port)
        return transport

    def _flow_closed(self, target: Target) -> None:
        for listener in list(self.flow_closed):
            listener(target)

    @property
    def port(self) -> int:
        return self.transports.port

    def now(self) -> float:
        return self._loop.time() if self._loop is not None else time.monotonic()

    # -- addresses ------------------------------------------------------------
    def hostport(self, transport: str = "udp") -> str:
        """Our host and the port of ``transport`` (TLS and WebSocket have their own)."""
        host = self.public_host or self.transports.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{host}:{self.transports.port_for(transport)}"

    def via(self, transport: str, branch: str | None = None) -> str:
        sent_by = self.hostport(transport)
        return f"SIP/2.0/{transport.upper()} {sent_by};rport;branch={branch or new_branch()}"

    def contact(self, transport: str, user: str = "jono") -> str:
        """Our Contact for requests and responses over ``transport``.

        RFC 3261 §18.1.1 / RFC 7118 §5.2: a Contact for a connection-oriented
        transport names it (``transport=tcp``, ``tls``, ``ws``, ``wss``), so the
        peer's in-dialog requests come back the same way."""
        kind = transport.lower()
        param = f";transport={kind}" if kind in ("tcp", "tls", "ws", "wss") else ""
        return f"<sip:{user}@{self.hostport(kind)}{param}>"

    # -- sending ------------------------------------------------------------
    def send_request(self, request: Request, target: Target, on_response: ResponseCallback) -> object:
        """Send ``request`` in a new client transaction."""
        if "User-Agent" not in request.headers:
            request.headers.add("User-Agent", self.user_agent)
        txn, events = self.layer.send_request(request, target, target.reliable, self.now())
        self._callbacks[id(txn)] = on_response
        self._run(events)
        return txn

    def send_response(self, txn: object, response: Response) -> None:
        status = response.status
        self.responses_sent[status] = self.responses_sent.get(status, 0) + 1
        if "Server" not in response.headers:
            response.headers.add("Server", self.user_agent)
        server_txn = cast(ServerTransaction, txn)
        now = self.now()
        if 200 <= response.status < 300 and server_txn.request.method == "REGISTER":
            self._keep_registration_flow(server_txn, response, now)
        self._run(self.layer.send_response(server_txn, response, now))

    def _keep_registration_flow(self, txn: ServerTransaction, response: Response, now: float) -> None:
        """RFC 5626 / RFC 3261 §18: keep a TCP connection that carries a
        registration open while the binding it made lives."""
        target = txn.target
        if not isinstance(target, Target) or not target.reliable:
            return
        ours = {c.uri for c in txn.request.contacts}
        lifetimes = [
            int(value) for c in response.contacts
            if c.uri in ours and (value := str(c.params.get("expires") or "")).isdigit()
        ]  # fmt: skip
        self.transports.keep(target, now + max(lifetimes, default=0))

    # -- TU timers (§13.3.1.4, §9.1, §10.2.4) ---------------------------------
    def arm(self, owner: TimerOwner, name: str, delay: float) -> None:
        """Call ``owner.on_timer(name, now)`` in ``delay`` seconds (re-arms ``name``)."""
        self.timers.arm(owner, name, self.now() + delay)
        self._schedule()

    def disarm(self, owner: TimerOwner, name: str) -> None:
        self.timers.cancel(owner, name)

    # -- flows ------------------------------------------------------------------
    def hold_flow(self, target: Target) -> None:
        """A dialog runs over ``target``: keep its TCP connection (released with
        :meth:`release_flow`)."""
        self.transports.hold(target)

    def release_flow(self, target: Target) -> None:
        self.transports.release(target)

    def keep_flow(self, target: Target, seconds: float) -> None:
        """Keep the TCP connection to ``target`` for ``seconds`` (e.g. a binding's lifetime)."""
        self.transports.keep(target, self.now() + seconds)

    def respond(
        self,
        txn: object,
        request: Request,
        status: int,
        reason: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        to_tag: str | None = None,
    ) -> None:
        # §8.2.6.2: a response that may create a dialog carries our own random tag.
        tag = to_tag if to_tag is not None else (new_tag() if status > 100 else None)
        self.send_response(
            txn, make_response(request, status, reason, to_tag=tag, headers=headers)
        )

    def terminate(self, txn: object) -> None:
        """Destroy a client transaction that will never see a final response."""
        self._callbacks.pop(id(txn), None)
        self._run(self.layer.terminate(txn, self.now()))  # type: ignore[arg-type]

    def send_stateless(self, message: Request | Response, target: Target) -> None:
        """Send outside any transaction: ACK for 2xx, 2xx retransmissions (§13)."""
        self.transports.send(message.encode(), target)

    def register_dialog(self, dialog: Dialog, owner: DialogOwner) -> None:
        self.dialogs[dialog.key] = owner

    def forget_dialog(self, dialog: Dialog) -> None:
        self.dialogs.pop(dialog.key, None)

    def find_dialog(self, call_id: str, local_tag: str, remote_tag: str) -> DialogOwner | None:
        """The owner of a confirmed dialog, by its identifiers (RFC 3261 §12:
        Call-ID, local tag, remote tag), e.g. the dialog a Replaces names."""
        return self.dialogs.get((call_id, local_tag, remote_tag))

    # -- receiving ----------------------------------------------------------
    def _on_message(self, message: Request | Response, source: Target) -> None:
        now = self.now()
        try:
            if isinstance(message, Response):
                events = self.layer.receive_response(message, now)
            else:
                _stamp_received(message, source)
                events = self.layer.receive_request(message, source, source.reliable, now)
        except SipError as err:
            # A message without a usable Via or CSeq: no transaction can own it.
            log.info("dropped message from %s: %s", source, err.reason)
            return
        self._run(events)

    def _transport_failed(self, target: Target) -> None:
        """RFC 3261 §17.1.4: "the client transaction SHOULD inform the TU that a
        transport failure has occurred" - for every client transaction whose
        message could not reach ``target`` (e.g. a TCP connect refused)."""
        now = self.now()
        events: list[LayerEvent] = []
        for txn in self.layer.transactions():
            if txn.target == target and not txn.terminated and not isinstance(txn, ServerTransaction):
                events.extend(self.layer.transport_error(txn, now))
        self._run(events)

    def _run(self, events: Sequence[LayerEvent]) -> None:
        for event in events:
            try:
                self._perform(event)
            except Exception:  # one bad call never harms another
                log.exception("error performing %r", type(event).__name__)
        self._schedule()

    def _perform(self, event: LayerEvent) -> None:
        if isinstance(event, SendMessage):
            self.transports.send(event.message.encode(), cast(Target, event.target))
        elif isinstance(event, RequestReceived):
            self._dispatch_request(event.request, event.transaction, cast(Target, event.source))
        elif isinstance(event, ResponseReceived):
            callback = self._callbacks.get(id(event.transaction))
            if callback is not None:
                callback(event.response, "")
        elif isinstance(event, StrayResponse):
            self._stray_response(event.response)
        elif isinstance(event, TransactionTimeout | TransportError):
            callback = self._callbacks.pop(id(event.transaction), None)
            if callback is not None:
                reason = "timeout" if isinstance(event, TransactionTimeout) else "transport error"
                callback(None, reason)
        elif isinstance(event, TransactionTerminated):
            self._callbacks.pop(id(event.transaction), None)
            request = getattr(event.transaction, "request", None)
            if isinstance(request, Request) and request.method == "INVITE":
                self._in_progress.pop(_merge_key(request), None)

    def _schedule(self) -> None:
        deadline = self.layer.next_deadline()
        tu_deadline = self.timers.next_deadline()
        if tu_deadline is not None and (deadline is None or tu_deadline < deadline):
            deadline = tu_deadline
        if deadline is None or self._loop is None:
            return
        if self._timer is not None and self._timer_at is not None and self._timer_at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        now = self.now()
        self._run(self.layer.advance(now))
        for owner, name in self.timers.due(now):
            try:
                owner.on_timer(name, now)
            except Exception:  # one bad call never harms another
                log.exception("error in timer %s of %r", name, type(owner).__name__)
        self._schedule()

    def _stray_response(self, response: Response) -> None:
        # A retransmitted 2xx whose INVITE transaction is gone: the dialog's
        # owner re-sends its ACK (§13.2.2.4).
        key = (response.call_id, response.from_.tag or "", response.to.tag or "")
        owner = self.dialogs.get(key)
        handler = getattr(owner, "on_stray_response", None)
        if handler is not None:
            handler(response)

    # -- UAS request checks (§8.2) ------------------------------------------
    def _dispatch_request(self, request: Request, txn: object | None, source: Target) -> None:
        method = request.method
        if method == "ACK" and txn is not None:
            return  # ACK for a non-2xx final response: absorbed by its transaction
        if txn is None and method != "ACK":
            return
        to_tag = request.to.tag
        if to_tag:
            self._in_dialog(request, txn, source, to_tag)
            return
        if method == "ACK":
            return  # a 2xx ACK for no dialog: nothing to do (§17.2.3)
        assert txn is not None
        if not self._acceptable(request, txn):
            return
        if method == "CANCEL":
            self._cancel(request, txn)
        elif method == "OPTIONS":
            self.respond(txn, request, 200, headers=(("Allow", ALLOW_HEADER), ("Accept", "application/sdp")))
        else:
            self.handler.on_request(self, request, txn, source)

    def _acceptable(self, request: Request, txn: object) -> bool:
        method = request.method
        # §8.2.1: "If a UAS does not support the method ... 405 ... Allow".
        if method not in ALLOWED:
            if method in KNOWN_NOT_ALLOWED:
                self.respond(txn, request, 405, headers=(("Allow", ALLOW_HEADER),))
            else:
                self.respond(txn, request, 501, headers=(("Allow", ALLOW_HEADER),))
            return False
        # RFC 3261 §16.3 step 3: "If the Max-Forwards value is 0, the proxy
        # MUST NOT forward the request ... return a 483 (Too many hops)".  A
        # B2BUA forwards every call it does not answer itself, so it refuses
        # at 0 (OPTIONS, which we answer ourselves, excepted; §11).
        max_forwards = request.headers.get("Max-Forwards")
        if max_forwards is not None and method != "OPTIONS" and _hops_left(max_forwards) == 0:
            self.respond(txn, request, 483)
            return False
        # §8.2.2.3: "If a UAS does not understand an option-tag listed in a
        # Require header field, it MUST respond by generating a response with
        # status code 420 (Bad Extension)" (never for CANCEL and ACK).
        if method != "CANCEL":
            unsupported = [t for t in request.headers.values("Require") if t.lower() not in SUPPORTED]
            if unsupported:
                self.respond(txn, request, 420, headers=(("Unsupported", ", ".join(unsupported)),))
                return False
        # §8.2.2.2: "If the request has no tag in the To header field, the UAS
        # core MUST check the request against ongoing transactions.  If the
        # From tag, Call-ID, and CSeq exactly match those associated with an
        # ongoing transaction, but the request does not match that
        # transaction ..., the UAS core SHOULD generate a 482 (Loop Detected)."
        if method == "INVITE":
            key = _merge_key(request)
            branch = request.top_via.branch or ""
            known = self._in_progress.get(key)
            if known is not None and known != branch:
                self.respond(txn, request, 482)
                return False
            self._in_progress[key] = branch
        return True

    def _cancel(self, request: Request, txn: object) -> None:
        # §9.2: "If the UAS did not find a matching transaction for the CANCEL
        # according to the procedure above, it SHOULD respond to the CANCEL
        # with a 481 ... If the transaction for the original request still
        # exists, ... the UAS ... respond[s] to the CANCEL with a 200."
        invite_txn = self.layer.find_invite_server_for_cancel(request)
        if invite_txn is None:
            self.respond(txn, request, 481)
            return
        # "Regardless of the method of the original request, as long as the
        # CANCEL matched an existing transaction, the UAS answers the CANCEL
        # request itself with a 200 (OK) response" - and "the To tag of the
        # response to the CANCEL and the To tag in the response to the
        # original request SHOULD be the same."  A CANCEL after the final
        # response has no other effect.
        listener = self.cancel_listeners.get(id(invite_txn))
        if listener is None:
            answered = invite_txn.last_response
            self.respond(txn, request, 200, to_tag=answered.to.tag if answered is not None else None)
            return
        self.respond(txn, request, 200, to_tag=listener.local_tag)
        listener.on_cancel(request)

    def _in_dialog(self, request: Request, txn: object | None, source: Target, to_tag: str) -> None:
        key = (request.call_id, to_tag, request.from_.tag or "")
        owner = self.dialogs.get(key)
        if owner is None:
            if txn is not None and request.method != "ACK":
                # §12.2.2: "If the UAS wishes to reject the request because it
                # does not wish to recreate the dialog, it MUST respond to the
                # request with a 481 (Call/Transaction Does Not Exist)".
                if request.method == "OPTIONS":
                    self.respond(txn, request, 200, headers=(("Allow", ALLOW_HEADER),), to_tag=to_tag)
                else:
                    self.respond(txn, request, 481, to_tag=to_tag)
            return
        if txn is not None and request.method not in ALLOWED:
            self.respond(txn, request, 501, headers=(("Allow", ALLOW_HEADER),), to_tag=to_tag)
            return
        owner.on_dialog_request(request, txn, source)


def _hops_left(value: str) -> int | None:
    """The Max-Forwards count (RFC 3261 §20.22), or None if it is not a number."""
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _merge_key(request: Request) -> tuple[str, str, str]:
    return (request.from_.tag or "", request.call_id, request.headers.get("CSeq") or "")


def _stamp_received(request: Request, source: Target) -> None:
    """RFC 3261 §18.2.1 and RFC 3581 §4: record where the request came from.

    "the server MUST add a 'received' parameter to that Via header field
    value" when sent-by differs from the source address; with ``rport`` it
    "MUST set the value of the 'rport' parameter to the source port".
    """
    values = request.headers.values("Via")
    if not values:
        return
    top = values[0]
    has_rport = ";rport" in top.lower()
    if not has_rport and f" {source.host}:" in top:
        return  # sent-by already names the source host: nothing to add
    try:
        via = Via.parse(top)
    except Exception:
        return
    if not has_rport and via.host == source.host:
        return
    params = dict(via.params)
    params["received"] = source.host
    if "rport" in params:
        params["rport"] = str(source.port)
    stamped = str(Via(transport=via.transport, host=via.host, port=via.port, params=params))
    request.headers.pop_first_value("Via")
    request.headers.prepend("Via", stamped)
