"""The asyncio edge of :class:`~sip.tcp_guard.TcpGuard` for the stream
transports (TCP, TLS, WebSocket): one loop timer at the guard's earliest
deadline, moved only when an earlier one comes in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class GuardAlarm:
    def __init__(self, fire: Callable[[], None]) -> None:
        self._fire = fire
        self._handle: asyncio.TimerHandle | None = None
        self._at: float | None = None

    def arm(self, deadline: float | None) -> None:
        """Fire at ``deadline`` (loop time) unless already due no later; None: nothing due."""
        if deadline is None:
            return
        if self._handle is not None and self._at is not None and self._at <= deadline:
            return
        if self._handle is not None:
            self._handle.cancel()
        self._at = deadline
        self._handle = asyncio.get_running_loop().call_at(deadline, self._fired)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._at = None

    def _fired(self) -> None:
        self._handle = self._at = None
        self._fire()
