"""Limits on SIP-over-TCP connections, sans-I/O (RFC 3261 §18.3, RFC 5626).

Theory of operation
-------------------
A connection costs the server a file descriptor and a receive buffer for as
long as it is open, so it must be worth keeping.  :class:`TcpGuard` decides,
from inputs that carry ``now``, when each connection is to be closed; the
TCP transport (the asyncio edge) arms one loop timer at
:meth:`TcpGuard.next_deadline` and closes what :meth:`TcpGuard.expired`
returns.

* *Per source*: at most ``max_per_source`` accepted connections from one IP
  address; :meth:`TcpGuard.accept` refuses the next one (the transport
  closes it at once).  Connections Jono opened itself are not counted.
* *Message deadline* (slowloris): once a message has started arriving, it
  must be complete within ``message_timeout``; each complete message
  restarts the clock for the next one.
* *Idle*: a connection that has not delivered a complete SIP message for
  ``idle_timeout`` is closed, unless it carries a flow worth keeping:
  a live registration (:meth:`TcpGuard.keep`, until the binding expires;
  RFC 5626: the registrar sends requests for the contact over it)
  or a dialog (:meth:`TcpGuard.hold` / :meth:`TcpGuard.release`, counted).
  RFC 5626 CRLF keep-alive pings do not count as messages: they keep NATs
  open for a flow, they do not make a connection without one worth keeping.

The per-connection deadline is ``min(message deadline, idle deadline)``;
one heap of ``(deadline, seq, key)`` with lazy deletion holds them all.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpLimits:
    """How long and how many; the defaults suit phones behind one office NAT."""

    idle_timeout: float = 30.0
    message_timeout: float = 10.0
    max_per_source: int = 100

    def __post_init__(self) -> None:
        if not self.idle_timeout > 0 or not self.message_timeout > 0:
            raise ValueError(f"TCP timeouts must be positive: {self!r}")
        if self.max_per_source < 1:
            raise ValueError(f"max_per_source {self.max_per_source} must be >= 1")


@dataclass(slots=True)
class _Conn:
    host: str
    accepted: bool
    last_message: float
    message_started: float | None = None
    keep_until: float = 0.0
    seq: int = -1
    deadline: float | None = None


class TcpGuard:
    """Deadlines and counts for TCP connections keyed by any hashable (the peer)."""

    def __init__(self, limits: TcpLimits | None = None) -> None:
        self.limits = limits or TcpLimits()
        self._conns: dict[Hashable, _Conn] = {}
        self._per_host: dict[str, int] = {}
        self._held: dict[Hashable, int] = {}
        self._heap: list[tuple[float, int, Hashable]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._conns)

    def connections_from(self, host: str) -> int:
        return self._per_host.get(host, 0)

    # -- inputs from the transport ---------------------------------------------
    def accept(self, key: Hashable, host: str, now: float, *, accepted: bool = True) -> bool:
        """A connection opened (``accepted``: by the peer); False: over the limit, close it."""
        if accepted:
            count = self._per_host.get(host, 0)
            if count >= self.limits.max_per_source:
                return False
            self._per_host[host] = count + 1
        self._conns[key] = _Conn(host=host, accepted=accepted, last_message=now)
        self._update(key)
        return True

    def closed(self, key: Hashable) -> None:
        self._held.pop(key, None)
        conn = self._conns.pop(key, None)
        if conn is None or not conn.accepted:
            return
        left = self._per_host.get(conn.host, 1) - 1
        if left > 0:
            self._per_host[conn.host] = left
        else:
            self._per_host.pop(conn.host, None)

    def received(self, key: Hashable, now: float, *, messages: int, partial: bool) -> None:
        """Bytes arrived: ``messages`` complete ones; ``partial``: a message is unfinished."""
        conn = self._conns.get(key)
        if conn is None:
            return
        if messages:
            conn.last_message = now
            conn.message_started = now if partial else None
        elif partial and conn.message_started is None:
            conn.message_started = now
        elif not partial:
            conn.message_started = None
        self._update(key)

    # -- inputs from the user agent ----------------------------------------------
    def keep(self, key: Hashable, until: float) -> None:
        """A registration flow: not idle before ``until`` (its binding's expiry)."""
        conn = self._conns.get(key)
        if conn is not None:
            conn.keep_until = until
            self._update(key)

    def hold(self, key: Hashable) -> None:
        """A dialog uses the connection: never idle while held."""
        self._held[key] = self._held.get(key, 0) + 1

    def release(self, key: Hashable, now: float) -> None:
        count = self._held.get(key, 0) - 1
        if count > 0:
            self._held[key] = count
            return
        self._held.pop(key, None)
        conn = self._conns.get(key)
        if conn is not None:
            # The dialog's end counts as activity: idle from now on.
            conn.last_message = max(conn.last_message, now)
            self._update(key)

    # -- timers --------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap:
            deadline, seq, key = heap[0]
            conn = self._conns.get(key)
            if conn is not None and conn.seq == seq:
                return deadline
            heapq.heappop(heap)
        return None

    def expired(self, now: float) -> list[tuple[Hashable, str]]:
        """Connections to close now, with the reason (for the log)."""
        heap = self._heap
        out: list[tuple[Hashable, str]] = []
        while heap and heap[0][0] <= now:
            _, seq, key = heapq.heappop(heap)
            conn = self._conns.get(key)
            if conn is None or conn.seq != seq:
                continue
            conn.seq, conn.deadline = -1, None
            due = self._due(key, conn)
            if due is not None and due > now:
                self._schedule(key, conn, due)  # activity since it was armed
                continue
            if due is None:
                continue
            started = conn.message_started
            if started is not None and now >= started + self.limits.message_timeout:
                out.append((key, f"message not complete after {self.limits.message_timeout:g} s"))
            else:
                out.append((key, f"idle for {self.limits.idle_timeout:g} s"))
        return out

    def _due(self, key: Hashable, conn: _Conn) -> float | None:
        limits = self.limits
        due: float | None = None
        if conn.message_started is not None:
            due = conn.message_started + limits.message_timeout
        if not self._held.get(key):
            idle = max(conn.last_message + limits.idle_timeout, conn.keep_until)
            due = idle if due is None else min(due, idle)
        return due

    def _update(self, key: Hashable) -> None:
        """Arm an earlier deadline at once; a later one is found when the armed one fires
        (one heap entry per connection per idle period, not one per message)."""
        conn = self._conns[key]
        due = self._due(key, conn)
        if due is not None and (conn.deadline is None or due < conn.deadline):
            self._schedule(key, conn, due)

    def _schedule(self, key: Hashable, conn: _Conn, deadline: float) -> None:
        conn.seq = next(self._seq)
        conn.deadline = deadline
        heapq.heappush(self._heap, (deadline, conn.seq, key))
        if len(self._heap) > max(1024, 4 * len(self._conns)):
            live = [e for e in self._heap if (c := self._conns.get(e[2])) and c.seq == e[1]]
            heapq.heapify(live)
            self._heap = live
