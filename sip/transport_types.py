"""What every SIP transport shares: the :class:`Target` address, the callbacks,
and the interface of a connection-oriented transport (TCP, TLS, WebSocket)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sip.message import Request, Response

#: Transports whose messages travel over a connection (RFC 3261 §18, RFC 7118).
CONNECTION_TRANSPORTS = frozenset({"tcp", "tls", "ws", "wss", "sctp"})


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
ClosedHandler = Callable[[Target], None]
"""Told when a connection a peer opened is gone (its flow, RFC 5626 §5.3, with it)."""


def no_error_handler(target: Target) -> None:
    pass


class FlowTransport(Protocol):
    """A connection-oriented transport as :class:`~sip.transport.TransportSet` drives it."""

    name: str

    def send(self, data: bytes, target: Target) -> None: ...

    def keep(self, target: Target, until: float) -> None:
        """Keep the connection to ``target`` until ``until`` (a registration flow)."""

    def hold(self, target: Target) -> None:
        """A dialog uses the connection: never close it as idle."""

    def release(self, target: Target) -> None: ...

    def close(self) -> None: ...
