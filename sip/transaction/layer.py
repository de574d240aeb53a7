"""The transaction layer: matches messages to transactions and runs their timers.

Theory of operation
-------------------
:class:`TransactionLayer` is the boundary between the transport and the
transaction user (TU).  It is sans-I/O like the machines it owns: every
method takes ``now`` and returns a list of :data:`LayerEvent` for the
caller to act on (``SendMessage`` goes to the transport, the rest to the
TU).  It keeps

* client transactions keyed by ``(branch, CSeq method)`` (RFC 3261 §17.1.3),
* server transactions keyed by ``(branch, sent-by host, sent-by port,
  method)`` with ACK counted as INVITE (§17.2.3), or, for requests whose
  branch lacks the ``z9hG4bK`` cookie, by the RFC 2543 fields,
* one heap of ``(deadline, seq, transaction, timer name)``.  Cancelled or
  replaced timers are not removed from the heap: an entry is live only while
  its transaction still has that timer armed with that deadline (lazy
  deletion), and the heap is rebuilt without dead entries whenever it has
  doubled since the last rebuild, so it stays within twice the live timers.

A transaction that terminates is removed from its table at once, so memory
is bounded by the transactions alive (each lives at most ~64*T1 after its
final response, except an INVITE client transaction left in PROCEEDING by
a TU that never calls :meth:`terminate`).

Messages without a parseable top Via or CSeq raise :class:`SipParseError`
(the transport answers 400 or drops them).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

from sip.errors import LocalProtocolError, SipParseError
from sip.headers import Via, split_header_values
from sip.message import Request, Response
from sip.timers import DEFAULT_TIMERS, TimerConfig
from sip.transaction.base import (
    MAGIC_COOKIE,
    CancelTimer,
    ClientTransaction,
    Deliver,
    Effect,
    Send,
    ServerTransaction,
    StartTimer,
    Terminated,
    TimedOut,
    Transaction,
    TransportFailed,
)
from sip.transaction.ict import InviteClientTransaction
from sip.transaction.ist import InviteServerTransaction
from sip.transaction.nict import NonInviteClientTransaction
from sip.transaction.nist import NonInviteServerTransaction

# -- events to the transport and the TU -------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SendMessage:
    """Give ``message`` to the transport for ``target``."""

    message: Request | Response
    target: object


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReceived:
    """A new request for the TU; ``transaction`` is None for an ACK that
    matches no transaction (the ACK for a 2xx, §17.1.1.3)."""

    request: Request
    transaction: ServerTransaction | None
    source: object


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseReceived:
    response: Response
    transaction: ClientTransaction


@dataclass(frozen=True, slots=True, kw_only=True)
class StrayResponse:
    """A response that matches no client transaction (RFC 3261 §18.1.2); a
    2xx for an INVITE whose transaction is gone still needs the TU's ACK."""

    response: Response


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionTimeout:
    transaction: Transaction


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportError:
    transaction: Transaction


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionTerminated:
    transaction: Transaction


LayerEvent = (
    SendMessage
    | RequestReceived
    | ResponseReceived
    | StrayResponse
    | TransactionTimeout
    | TransportError
    | TransactionTerminated
)

ServerKey = tuple[object, ...]
_RFC2543 = "rfc2543"
ClientKey = tuple[str, str]


def top_via(message: Request | Response) -> Via:
    """The first Via value, parsing only what is needed."""
    line = message.headers.get("Via")
    if line is None:
        raise SipParseError("no Via header field")
    if "," in line:
        line = split_header_values(line)[0]
    return Via.parse(line)


def _tag(message: Request | Response, name: str) -> str | None:
    """The tag parameter of To or From (RFC 3261 §19.3), without a full parse."""
    value = message.headers.get(name) or ""
    start = value.rfind(">") + 1  # header parameters follow the name-addr
    low = value.lower()
    i = low.find(";tag=", start)
    if i < 0:
        return None
    return value[i + 5 :].split(";", 1)[0].strip()


class TransactionLayer:
    """Client and server transactions of one SIP element, and their timers."""

    __slots__ = ("config", "_clients", "_servers", "_heap", "_seq", "_compact_at")

    def __init__(self, config: TimerConfig = DEFAULT_TIMERS) -> None:
        self.config = config
        self._clients: dict[ClientKey, ClientTransaction] = {}
        self._servers: dict[ServerKey, ServerTransaction] = {}
        self._heap: list[tuple[float, int, Transaction, str]] = []
        self._seq = itertools.count()
        self._compact_at = 1024

    # -- inspection --------------------------------------------------------
    def __len__(self) -> int:
        """Number of live transactions."""
        return len(self._clients) + len(self._servers)

    def transactions(self) -> list[Transaction]:
        """Every live transaction, clients first."""
        return [*self._clients.values(), *self._servers.values()]

    @property
    def timer_entries(self) -> int:
        """Heap size, dead entries included (for tests and metrics)."""
        return len(self._heap)

    # -- RFC 3261 §17.2.3: matching requests to server transactions ---------
    @staticmethod
    def server_key(request: Request) -> ServerKey:
        via = top_via(request)
        method = "INVITE" if request.method == "ACK" else request.method
        branch = via.branch
        # RFC 3261 §17.2.3: "If the branch parameter in the top Via header
        # field is present, it is examined.  If it is present and begins with
        # the magic cookie "z9hG4bK", the request was generated by a client
        # transaction compliant to this specification. [...] The request
        # matches a transaction if: 1. the branch parameter in the request is
        # equal to the one in the top Via header field of the request that
        # created the transaction, and 2. the sent-by value in the top Via of
        # the request is equal to the one in the request that created the
        # transaction, and 3. the method of the request matches the one that
        # created the transaction, except for ACK, where the method of the
        # request that created the transaction is INVITE."
        if branch is not None and branch.startswith(MAGIC_COOKIE):
            return (branch, via.host.lower(), via.port, method)
        # RFC 3261 §17.2.3 (RFC 2543 backwards compatibility): "the INVITE
        # request matches a transaction if the Request-URI, To tag, From tag,
        # Call-ID, CSeq, and top Via header field match those of the INVITE
        # request which created the transaction. [...] the ACK request
        # matches a transaction if the Request-URI, From tag, Call-ID, CSeq
        # number (not the method), and top Via header field match those of
        # the INVITE request which created the transaction, and the To tag of
        # the ACK matches the To tag of the response sent by the server
        # transaction."  For an ACK the key holds its own To tag; see
        # _match_server for the lookup.
        return (
            _RFC2543,
            request.uri,
            _tag(request, "To"),
            _tag(request, "From"),
            request.call_id,
            request.cseq.number,
            method,
            str(via),
        )

    def _match_server(self, request: Request, key: ServerKey) -> ServerTransaction | None:
        servers = self._servers
        if key[0] != _RFC2543 or request.method != "ACK":
            return servers.get(key)
        # RFC 2543 ACK: the INVITE had no To tag (initial INVITE) or the
        # ACK's own (re-INVITE); the ACK's To tag must equal the response's.
        ack_tag = key[2]
        for invite_tag in (ack_tag, None) if ack_tag is not None else (None,):
            txn = servers.get((key[0], key[1], invite_tag, *key[3:]))
            if txn is not None:
                answer = txn.last_response
                if _tag(answer if answer is not None else txn.request, "To") == ack_tag:
                    return txn
        return None

    def find_server(self, request: Request) -> ServerTransaction | None:
        """The server transaction ``request`` belongs to, if any."""
        return self._match_server(request, self.server_key(request))

    def find_invite_server_for_cancel(self, cancel: Request) -> InviteServerTransaction | None:
        """The INVITE server transaction a CANCEL cancels (RFC 3261 §9.2)."""
        # RFC 3261 §9.2: "the transaction being cancelled [is found] using
        # the procedures described in Section 17.2.3 [...] however, the
        # method of the request is ignored" -- i.e. matched as an INVITE.
        key = self.server_key(cancel)
        key = (*key[:-2], "INVITE", key[-1]) if key[0] == _RFC2543 else (*key[:-1], "INVITE")
        txn = self._servers.get(key)
        return txn if isinstance(txn, InviteServerTransaction) else None

    def receive_request(
        self, request: Request, source: object, reliable: bool, now: float
    ) -> list[LayerEvent]:
        """A request from the transport, sent from ``source``."""
        key = self.server_key(request)
        txn = self._match_server(request, key)
        out: list[LayerEvent] = []
        if txn is not None:
            self._apply(txn, txn.receive_request(request, now), out, source)
            return out
        if request.method == "ACK":
            # RFC 3261 §17.1.1.3 / §13.2.2.4: the ACK for a 2xx is a separate
            # transaction of its own (new branch): straight to the TU.
            out.append(RequestReceived(request=request, transaction=None, source=source))
            return out
        new: ServerTransaction
        if request.method == "INVITE":
            new = InviteServerTransaction(
                request, source, reliable=reliable, config=self.config, key=key
            )
        else:
            new = NonInviteServerTransaction(
                request, source, reliable=reliable, config=self.config, key=key
            )
        self._servers[key] = new
        self._apply(new, new.start(now), out, source)
        return out

    def send_response(
        self, transaction: ServerTransaction | ServerKey, response: Response, now: float
    ) -> list[LayerEvent]:
        """The TU answers through a server transaction (object or key)."""
        if isinstance(transaction, ServerTransaction):
            txn = transaction
        else:
            found = self._servers.get(transaction)
            if found is None:
                raise LocalProtocolError(f"no server transaction {transaction!r}")
            txn = found
        out: list[LayerEvent] = []
        self._apply(txn, txn.send_response(response, now), out, txn.target)
        return out

    # -- RFC 3261 §17.1.3: matching responses to client transactions --------
    def send_request(
        self, request: Request, target: object, reliable: bool, now: float
    ) -> tuple[ClientTransaction, list[LayerEvent]]:
        """Start a client transaction sending ``request`` to ``target``.

        The request's top Via must carry a ``z9hG4bK`` branch (see
        :func:`sip.transaction.base.make_branch`); a CANCEL reuses its
        INVITE's branch (§9.1) and gets its own transaction.
        """
        if request.method == "ACK":
            raise LocalProtocolError("an ACK is not sent in a transaction; use send_stateless")
        branch = top_via(request).branch
        if branch is None or not branch.startswith(MAGIC_COOKIE):
            raise LocalProtocolError(f"branch {branch!r} must begin with {MAGIC_COOKIE}")
        key = (branch, request.method)
        if key in self._clients:
            raise LocalProtocolError(f"a client transaction {key!r} already exists")
        txn: ClientTransaction
        if request.method == "INVITE":
            txn = InviteClientTransaction(
                request, target, reliable=reliable, config=self.config, key=key
            )
        else:
            txn = NonInviteClientTransaction(
                request, target, reliable=reliable, config=self.config, key=key
            )
        self._clients[key] = txn
        out: list[LayerEvent] = []
        self._apply(txn, txn.start(now), out, target)
        return txn, out

    def receive_response(self, response: Response, now: float) -> list[LayerEvent]:
        """A response from the transport."""
        # RFC 3261 §17.1.3: "A response matches a client transaction under
        # two conditions: 1. If the response has the same value of the branch
        # parameter in the top Via header field as the branch parameter in
        # the top Via header field of the request that created the
        # transaction. 2. If the method parameter in the CSeq header field
        # matches the method of the request that created the transaction."
        branch = top_via(response).branch or ""
        txn = self._clients.get((branch, response.cseq.method))
        if txn is None:
            return [StrayResponse(response=response)]
        out: list[LayerEvent] = []
        self._apply(txn, txn.receive_response(response, now), out, txn.target)
        return out

    def find_client(self, branch: str, method: str) -> ClientTransaction | None:
        return self._clients.get((branch, method))

    # -- other TU and transport inputs ----------------------------------------
    def send_stateless(self, message: Request | Response, target: object) -> list[LayerEvent]:
        """Send outside any transaction (ACK for a 2xx, 2xx retransmission
        after the server transaction is gone)."""
        return [SendMessage(message=message, target=target)]

    def transport_error(self, transaction: Transaction, now: float) -> list[LayerEvent]:
        """The transport failed to send a message of ``transaction``."""
        out: list[LayerEvent] = []
        self._apply(transaction, transaction.transport_error(now), out, transaction.target)
        return out

    def terminate(self, transaction: Transaction, now: float) -> list[LayerEvent]:
        """The TU abandons ``transaction`` (e.g. RFC 3261 §9.1)."""
        out: list[LayerEvent] = []
        self._apply(transaction, transaction.terminate(now), out, transaction.target)
        return out

    # -- timers ----------------------------------------------------------------
    def next_deadline(self) -> float | None:
        """When :meth:`advance` next has work, or None if no timer is armed."""
        heap = self._heap
        while heap:
            deadline, _, txn, name = heap[0]
            if txn.armed.get(name) == deadline:
                return deadline
            heapq.heappop(heap)
        return None

    def advance(self, now: float) -> list[LayerEvent]:
        """Fire every timer due at ``now``."""
        heap = self._heap
        out: list[LayerEvent] = []
        while heap and heap[0][0] <= now:
            deadline, _, txn, name = heapq.heappop(heap)
            if txn.armed.get(name) != deadline:
                continue  # cancelled, replaced, or its transaction is gone
            self._apply(txn, txn.timer_fired(name, now), out, txn.target)
        return out

    def _push(self, txn: Transaction, name: str, deadline: float) -> None:
        heap = self._heap
        heapq.heappush(heap, (deadline, next(self._seq), txn, name))
        if len(heap) > self._compact_at:
            live = [e for e in heap if e[2].armed.get(e[3]) == e[0]]
            heapq.heapify(live)
            self._heap = live
            self._compact_at = max(1024, 2 * len(live))

    # -- effects -> events -------------------------------------------------------
    def _apply(
        self, txn: Transaction, effects: list[Effect], out: list[LayerEvent], source: object
    ) -> None:
        for effect in effects:
            if isinstance(effect, Send):
                out.append(SendMessage(message=effect.message, target=effect.target))
            elif isinstance(effect, StartTimer):
                self._push(txn, effect.name, effect.deadline)
            elif isinstance(effect, CancelTimer):
                pass  # lazy deletion: the entry dies with txn.armed
            elif isinstance(effect, Deliver):
                message = effect.message
                if isinstance(message, Request):
                    assert isinstance(txn, ServerTransaction)
                    out.append(RequestReceived(request=message, transaction=txn, source=source))
                else:
                    assert isinstance(txn, ClientTransaction)
                    out.append(ResponseReceived(response=message, transaction=txn))
            elif isinstance(effect, TimedOut):
                out.append(TransactionTimeout(transaction=txn))
            elif isinstance(effect, TransportFailed):
                out.append(TransportError(transaction=txn))
            elif isinstance(effect, Terminated):
                self._forget(txn)
                out.append(TransactionTerminated(transaction=txn))

    def _forget(self, txn: Transaction) -> None:
        if isinstance(txn, ClientTransaction):
            clients = self._clients
            if clients.get(txn.key) is txn:  # type: ignore[call-overload]
                del clients[txn.key]
        else:
            servers = self._servers
            if servers.get(txn.key) is txn:  # type: ignore[call-overload]
                del servers[txn.key]
