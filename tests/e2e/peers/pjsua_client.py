"""The pytest side of a pjsua2 phone process (see ``pjsua_phone.py``)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .ports import free_port, free_port_block
from .tools import require_pjsua2

E2E_DIR = Path(__file__).resolve().parent.parent

Event = dict[str, Any]


class PhoneError(AssertionError):
    """The phone did not do what the test expected; carries its recent events."""


class PjsuaPhone:
    """One phone process. Methods block with timeouts and raise :class:`PhoneError`."""

    def __init__(self, workdir: Path, name: str = "phone", *, port: int | None = None) -> None:
        require_pjsua2()
        self.name = name
        self.port = port or free_port()
        self.rtp_port = free_port_block(40)
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{name}_pjsua.log"
        self._stderr = (workdir / f"{name}_stderr.log").open("wb")
        self._events: queue.Queue[Event] = queue.Queue()
        self.history: list[Event] = []
        self._ids = 0
        self.proc = subprocess.Popen(
            [
                *self._launcher(),
                "--port", str(self.port),
                "--rtp-port", str(self.rtp_port),
                "--log", str(self.log_path),
            ],
            cwd=E2E_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, name=f"{name}-reader", daemon=True)
        self._reader.start()
        self.wait_event("ready", timeout=10.0)

    def _launcher(self) -> list[str]:
        """The phone process's command line before the common options."""
        return [sys.executable, "-m", "peers.pjsua_phone"]

    @property
    def contact(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue  # pjsua may print non-JSON lines
            if isinstance(event, dict):
                self._events.put(event)
        self._events.put({"event": "eof"})

    def wait_event(
        self,
        name: str,
        *,
        timeout: float = 5.0,
        where: Callable[[Event], bool] | None = None,
        **match: Any,
    ) -> Event:
        """The next event called ``name`` whose fields equal ``match`` (others are kept)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.history:
                if self._matches(event, name, where, match):
                    self.history.remove(event)
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PhoneError(
                    f"{self.name}: no {name} {match} within {timeout} s; "
                    f"unconsumed events: {self.history[-20:]}\n{self.stderr_text()[-2000:]}"
                )
            try:
                event = self._events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event.get("event") == "eof":
                self._events.put(event)  # keep signalling eof
                raise PhoneError(
                    f"{self.name}: phone process ended while waiting for {name}; "
                    f"events: {self.history[-20:]}\n{self.stderr_text()[-4000:]}"
                )
            self.history.append(event)

    @staticmethod
    def _matches(
        event: Event, name: str, where: Callable[[Event], bool] | None, match: dict[str, Any]
    ) -> bool:
        if event.get("event") != name:
            return False
        if any(event.get(k) != v for k, v in match.items()):
            return False
        return where is None or where(event)

    def command(self, cmd: str, *, timeout: float = 5.0, **args: Any) -> Event:
        self._ids += 1
        ident = self._ids
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, "id": ident, **args}) + "\n").encode())
        self.proc.stdin.flush()
        return self._reply(ident, timeout)

    def _reply(self, ident: int, timeout: float) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.history:
                if event.get("id") == ident and event.get("event") in ("ok", "error"):
                    self.history.remove(event)
                    if event["event"] == "error":
                        raise PhoneError(f"{self.name}: {event.get('cmd')} failed: {event}")
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PhoneError(f"{self.name}: no reply to command {ident} in {timeout} s")
            try:
                event = self._events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event.get("event") == "eof":
                self._events.put(event)
                raise PhoneError(f"{self.name}: phone process ended\n{self.stderr_text()[-4000:]}")
            self.history.append(event)

    # ---- phone actions ----------------------------------------------------
    def register(
        self,
        user: str,
        password: str,
        registrar: str,
        *,
        transport: str = "udp",
        timeout: float = 5.0,
        mwi: bool = False,
    ) -> int:
        """Register with digest credentials; the final status code (200 = registered).
        ``mwi``: also subscribe to the mailbox's message-summary (RFC 3842)."""
        self.command(
            "register", user=user, password=password, registrar=registrar, transport=transport,
            mwi=mwi,
        )
        event = self.wait_event(
            "registered", timeout=timeout, where=lambda e: int(e.get("code", 0)) >= 200
        )
        return int(event["code"])

    def call(self, uri: str) -> int:
        return int(self.command("call", uri=uri)["call"])

    def answer(self, code: int = 200) -> int:
        return int(self.command("answer", code=code)["call"])

    def auto_answer(self, code: int = 200) -> None:
        self.command("auto_answer", code=code)

    def hangup(self, call: int | None = None) -> None:
        self.command("hangup", call=call)

    def hold(self, call: int | None = None) -> None:
        """Put the call on hold: re-INVITE with a=sendonly (RFC 3264 §8.4)."""
        self.command("hold", call=call)

    def unhold(self, call: int | None = None) -> None:
        self.command("unhold", call=call)

    def transfer(self, uri: str, call: int | None = None) -> None:
        """Blind transfer: REFER with Refer-To ``uri`` (RFC 3515)."""
        self.command("xfer", uri=uri, call=call)

    def transfer_replacing(self, call: int, to: int) -> None:
        """Attended transfer: REFER on ``call`` whose Refer-To replaces call ``to`` (RFC 3891)."""
        self.command("xfer_replaces", call=call, to=to)

    def play(self, path: Path, *, loop: bool = True) -> None:
        self.command("play", path=str(path), loop=loop)

    def record(self, path: Path) -> None:
        self.command("record", path=str(path))

    def stop_record(self) -> None:
        self.command("stop_record")

    def dtmf(self, digits: str, call: int | None = None) -> None:
        self.command("dtmf", digits=digits, call=call)

    def wait_media_status(self, status: str, *, timeout: float = 5.0) -> Event:
        return self.wait_event(
            "media_status", timeout=timeout, where=lambda e: e.get("status") == status
        )

    def rtp_stats(self) -> tuple[int, int]:
        """(received, sent) RTP packets of the newest call."""
        reply = self.command("rtp_stats")
        return int(reply["rx"]), int(reply["tx"])

    def wait_rtp(self, packets: int = 10, *, timeout: float = 5.0) -> int:
        """Wait until the newest call has received ``packets`` RTP packets (media flows)."""
        deadline = time.monotonic() + timeout
        received = 0
        while time.monotonic() < deadline:
            received, _ = self.rtp_stats()
            if received >= packets:
                return received
            time.sleep(0.05)
        raise PhoneError(f"{self.name}: only {received} RTP packets in {timeout} s")

    def wait_incoming(self, timeout: float = 5.0) -> Event:
        return self.wait_event("incoming", timeout=timeout)

    def wait_state(self, state: str, *, timeout: float = 5.0, call: int | None = None) -> Event:
        """Wait for ``CONFIRMED``, ``DISCONNECTED``, ... (event has ``code``, ``reason``)."""
        return self.wait_event(
            "state",
            timeout=timeout,
            state=state,
            where=None if call is None else (lambda e: e.get("call") == call),
        )

    def stderr_text(self) -> str:
        self._stderr.flush()
        path = Path(self._stderr.name)
        return path.read_text(errors="replace") if path.exists() else ""

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def quit(self, timeout: float = 5.0) -> int:
        """Hang up, destroy the endpoint, end the process; its exit code."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        code = self.proc.wait()
        self._stderr.close()
        return code

    def __enter__(self) -> PjsuaPhone:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        code = self.quit()
        # pjsua aborts on a C assertion if objects outlive libDestroy: a harness bug.
        if code != 0 and exc_type is None:
            raise PhoneError(f"{self.name}: phone exited with {code}\n{self.stderr_text()[-3000:]}")
