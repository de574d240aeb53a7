"""The local control channel: ``jono reload`` talks to the running server.

The server listens on a Unix socket in a directory only its user can
enter (``$XDG_RUNTIME_DIR/jono`` or ``/tmp/jono-<uid>``, mode 0700), named
after its SIP address, so ``jono reload`` finds it from any directory and
nobody else on the machine can use it. One request a connection: a JSON
line ``{"command": "reload"}``; the answer is a JSON line
``{"ok": true|false, "errors": [...]}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.stdlib.get_logger("jono.control")

MAX_REQUEST = 4096


def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "jono" if base else Path(tempfile.gettempdir()) / f"jono-{os.getuid()}"
    return path


def socket_path(host: str, port: int) -> Path:
    safe = host.replace(":", "_").replace("/", "_").strip("[]")
    return runtime_dir() / f"{safe}_{port}.sock"


class ControlServer:
    def __init__(self, reload: Callable[..., list[str]]) -> None:
        self.reload = reload
        self.path: Path | None = None
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> None:
        directory = runtime_dir()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.stat().st_uid != os.getuid() or directory.stat().st_mode & 0o077:
            raise OSError(f"{directory} must belong to this user and be closed to others")
        path = socket_path(host, port)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a server that died left it
        self._server = await asyncio.start_unix_server(self._serve, path=str(path))
        path.chmod(0o600)
        self.path = path

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            answer = self._answer(line[:MAX_REQUEST])
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (OSError, TimeoutError) as err:
            log.info("control connection failed", error=str(err))
        finally:
            writer.close()

    def _answer(self, line: bytes) -> dict[str, object]:
        try:
            request = json.loads(line)
        except json.JSONDecodeError:
            return {"ok": False, "errors": ["the request must be one JSON line"]}
        if not isinstance(request, dict) or request.get("command") != "reload":
            return {"ok": False, "errors": ["unknown command: the one command is reload"]}
        errors = self.reload(force=bool(request.get("force")))
        return {"ok": not errors, "errors": errors}


def running_servers() -> list[Path]:
    directory = runtime_dir()
    return sorted(directory.glob("*.sock")) if directory.is_dir() else []


def request_reload(path: Path, *, force: bool = False, timeout: float = 30.0) -> dict[str, object]:
    """Ask the server at ``path`` to reload; its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps({"command": "reload", "force": force}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data or b"{}")
    if not isinstance(answer, dict):
        raise ValueError("the server's answer is not a JSON object")
    return answer
