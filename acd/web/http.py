"""Serve the API with uvicorn on the running loop (no thread, no signals)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import structlog
import uvicorn
from starlette.types import ASGIApp

log = structlog.stdlib.get_logger("jono.web")


class _QuietServer(uvicorn.Server):
    """Jono owns SIGINT/SIGTERM/SIGHUP: uvicorn must not take them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HttpServer:
    def __init__(
        self, app: ASGIApp, host: str, port: int, *, tls: tuple[str, str] | None = None,
    ) -> None:
        """``tls``: (certificate, key) files to serve HTTPS (and wss://) instead of HTTP."""
        self.scheme = "https" if tls is not None else "http"
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            ssl_certfile=tls[0] if tls is not None else None,
            ssl_keyfile=tls[1] if tls is not None else None,
        )
        self.server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> bool:
        """Serve; False (logged, SIP keeps running) when the address is taken."""
        self._task = asyncio.get_running_loop().create_task(self._serve())
        while not self.server.started:
            if self._task.done():
                config = self.server.config
                log.error("HTTP API not started on %s:%s", config.host, config.port)
                self._task = None
                return False
            await asyncio.sleep(0.01)
        log.info("HTTP API on %s://%s:%s", self.scheme, *self.address)
        return True

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:  # uvicorn exits when it cannot bind
            log.error("HTTP API stopped: cannot listen")

    @property
    def address(self) -> tuple[str, int]:
        for server in self.server.servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                return str(host), int(port)
        return self.server.config.host, self.server.config.port

    async def close(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(self._task, 5)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
