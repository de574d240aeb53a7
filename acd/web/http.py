"""Serve the web workplace and the API with uvicorn on the running loop (no
thread, no signals); HTTPS with the plan's ``server.http.tls``.

``proxy_headers=False``: uvicorn must not rewrite the client address and
scheme from ``X-Forwarded-*``; the auth middleware believes them only from
the configured trusted proxies (acd.web.auth.client)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
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
        self, app: ASGIApp, host: str, port: int, *, tls: tuple[str, str] | None = None
    ) -> None:
        self.scheme = "https" if tls is not None else "http"
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            ssl_certfile=tls[0] if tls is not None else None,
            ssl_keyfile=tls[1] if tls is not None else None,
        )
        self.server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None
        self.error: str | None = None  # why it did not start, when it did not

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
        log.info("HTTP API on %s", self.url)
        return True

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:  # uvicorn exits when it cannot bind
            self.error = "the address is taken or not ours"
            log.error("HTTP API stopped: cannot listen")
        except (OSError, ssl.SSLError) as err:  # TLS certificate or key unreadable or wrong
            self.error = f"TLS: {err}"
            log.error("HTTP API stopped: %s", self.error)

    @property
    def address(self) -> tuple[str, int]:
        for server in self.server.servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                return str(host), int(port)
        return self.server.config.host, self.server.config.port

    @property
    def url(self) -> str:
        host, port = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{shown}:{port}/"

    async def close(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(self._task, 5)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
