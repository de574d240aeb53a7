"""QueueService: runs the pure ACD engine (acd.domain) against real calls.

Stub: the server calls these hooks; queues are not running yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acd.access import Caller
    from acd.flows.session import CallerSession
    from acd.server import JonoServer
    from sip.message import Request
    from sip.transport import Target


class QueueService:
    def __init__(self, server: JonoServer) -> None:
        self.server = server

    def configure(self, dialplan: Any) -> None:
        """Apply a (new) dial plan: queues, members, agents' devices."""

    async def start(self) -> None:
        """Start timers and the HTTP API."""

    async def close(self) -> None:
        """Stop timers and the HTTP API."""

    def feature_code(
        self, request: Request, txn: object, source: Target, caller: Caller, dialled: str
    ) -> bool:
        """Handle an agent's feature code (*21 log in, ...); True when handled."""
        return False

    async def run_caller(self, session: CallerSession, queue_id: str) -> Any:
        """Keep the caller in ``queue_id`` until an agent answers or they overflow.

        Returns the next destination (overflow) or None when the call is over.
        """
        session.reject(503, "Queues Not Running")
        return None
