"""baresip as a peer: generated config dir, remote control over ctrl_tcp.

ctrl_tcp speaks netstrings (``LEN:JSON,``): commands
``{"command": "dial", "params": URI, "token": N}`` get a reply with
``"response": true``; call progress arrives as ``"event": true`` objects
with a ``type`` such as CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from .ports import LOOPBACK, free_port, free_port_block
from .tools import require_tool

MODULE_PATH = "/usr/lib/baresip/modules"

Event = dict[str, Any]


def write_config(
    config_dir: Path,
    *,
    sip_port: int,
    ctrl_port: int,
    rtp_port: int,
    account: str,
    source_wav: Path | None,
    sink_wav: Path | None,
) -> None:
    """The ``config`` and ``accounts`` files baresip reads from ``-f DIR``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "poll_method\t\tepoll",
        f"sip_listen\t\t{LOOPBACK}:{sip_port}",
        f"net_interface\t\t{LOOPBACK}",
        f"rtp_ports\t\t{rtp_port}-{rtp_port + 19}",
        "audio_alert\t\tnone",
        "audio_srate\t\t8000",
        "audio_channels\t\t1",
        f"module_path\t\t{MODULE_PATH}",
        "module\t\t\tg711.so",
        "module\t\t\taufile.so",
        "module_app\t\taccount.so",
        "module_app\t\tmenu.so",
        "module_app\t\tctrl_tcp.so",
        f"ctrl_tcp_listen\t\t{LOOPBACK}:{ctrl_port}",
    ]
    if source_wav is not None:
        lines.append(f"audio_source\t\taufile,{source_wav}")
    else:
        lines.append("audio_source\t\taufile,/dev/null")
    if sink_wav is not None:
        lines.append(f"audio_player\t\taufile,{sink_wav}")
    (config_dir / "config").write_text("\n".join(lines) + "\n")
    (config_dir / "accounts").write_text(account + "\n")
    (config_dir / "contacts").write_text("")


def netstring(data: bytes) -> bytes:
    return str(len(data)).encode() + b":" + data + b","


class Baresip:
    """One baresip process with its own config dir, SIP port and ctrl_tcp port."""

    def __init__(
        self,
        workdir: Path,
        *,
        user: str = "baresip",
        password: str | None = None,
        registrar: str | None = None,
        transport: str = "udp",
        source_wav: Path | None = None,
        sink_wav: Path | None = None,
        answermode: str = "auto",
        account: str | None = None,
    ) -> None:
        """``account``: a whole accounts-file line, written as given (e.g. the
        README's), instead of one built from ``user``/``password``/``registrar``."""
        binary = require_tool("baresip")
        self.workdir = workdir
        self.sip_port = free_port()
        self.ctrl_port = free_port()
        config_dir = workdir / "baresip"
        if registrar is not None:
            aor = f"<sip:{user}@{registrar};transport={transport}>"
            params = [f"auth_pass={password}", "regint=60"] if password else ["regint=60"]
        else:
            aor = f"<sip:{user}@{LOOPBACK}:{self.sip_port};transport={transport}>"
            params = ["regint=0"]
        params += [f"answermode={answermode}", "audio_codecs=PCMU,PCMA"]
        write_config(
            config_dir,
            sip_port=self.sip_port,
            ctrl_port=self.ctrl_port,
            rtp_port=free_port_block(20),
            account=account if account is not None else aor + ";" + ";".join(params),
            source_wav=source_wav,
            sink_wav=sink_wav,
        )
        self.log_path = workdir / "baresip.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [binary, "-f", str(config_dir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        self.events: list[Event] = []
        self._buffer = b""
        self._token = 0
        self._sock = self._connect()

    @property
    def contact(self) -> str:
        return f"{LOOPBACK}:{self.sip_port}"

    def _connect(self, timeout: float = 5.0) -> socket.socket:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"baresip exited at start:\n{self.log_text()[-3000:]}")
            try:
                return socket.create_connection((LOOPBACK, self.ctrl_port), timeout=1.0)
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"baresip ctrl_tcp not listening:\n{self.log_text()[-3000:]}")

    def _read_one(self, timeout: float) -> Event | None:
        """One netstring JSON object, or None on timeout."""
        self._sock.settimeout(timeout)
        while True:
            head, sep, rest = self._buffer.partition(b":")
            if sep:
                size = int(head)
                if len(rest) >= size + 1:
                    payload, self._buffer = rest[:size], rest[size + 1 :]
                    return dict(json.loads(payload))
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                raise AssertionError(f"baresip closed ctrl_tcp:\n{self.log_text()[-3000:]}")
            self._buffer += chunk

    def command(self, command: str, params: str = "", *, timeout: float = 5.0) -> Event:
        """Send a command; its response object (``ok``, ``data``)."""
        self._token += 1
        token = str(self._token)
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._sock.sendall(netstring(body))
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            message = self._read_one(remaining)
            if message is None:
                break
            if message.get("response") and str(message.get("token")) == token:
                return message
            if message.get("event"):
                self.events.append(message)
        raise AssertionError(f"baresip: no response to {command!r}:\n{self.log_text()[-3000:]}")

    def dial(self, uri: str) -> Event:
        return self.command("dial", uri)

    def hangup(self) -> Event:
        return self.command("hangup")

    def wait_event(self, event_type: str, *, timeout: float = 5.0) -> Event:
        """The first (unconsumed) event of ``event_type``, e.g. CALL_ESTABLISHED."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("type") == event_type:
                    self.events.remove(event)
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"baresip: no {event_type} in {timeout} s; events: {self.events}\n"
                    f"{self.log_text()[-3000:]}"
                )
            message = self._read_one(remaining)
            if message is not None and message.get("event"):
                self.events.append(message)

    def wait_registered(self, *, timeout: float = 5.0) -> None:
        """Poll ``reginfo`` until the account shows OK (REGISTER_OK may come before we connect)."""
        deadline = time.monotonic() + timeout
        data = ""
        while time.monotonic() < deadline:
            data = re.sub(r"\x1b\[[0-9;]*m", "", str(self.command("reginfo").get("data", "")))
            if re.search(r"\bOK\b", data):
                return
            if re.search(r"\bERR\b", data):
                break
            time.sleep(0.1)
        raise AssertionError(f"baresip not registered: {data.strip()!r}\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        if self.proc.poll() is None:
            try:
                self.command("quit", timeout=1.0)
            except (AssertionError, OSError):
                pass
            try:
                # baresip waits for its unREGISTER on quit; nothing of value for a test.
                self.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
        self._sock.close()
        self._log.close()
        return self.proc.wait()

    def __enter__(self) -> Baresip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
