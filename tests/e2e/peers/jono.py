"""Start the real Jono server as a subprocess on a free port."""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from .ports import LOOPBACK, free_port

JONO_BIN = Path(sys.executable).with_name("jono")
START_TIMEOUT_S = 30.0  # a shared, loaded machine can take this long to start Python
STOP_TIMEOUT_S = 5.0


class JonoStartError(RuntimeError):
    """The server did not come up; the message carries its log."""


PORT_RACE_RETRIES = 3
# Set (by dialplan_helpers.pin_clock) to start servers with --schedule-time.
SCHEDULE_TIME_ENV = "JONO_TEST_SCHEDULE_TIME"


def options_request(host: str, port: int, local_port: int) -> bytes:
    """A minimal OPTIONS (RFC 3261 section 11.1) to probe that the server is up."""
    tag = uuid.uuid4().hex[:10]
    branch = "z9hG4bK" + uuid.uuid4().hex[:16]
    lines = [
        f"OPTIONS sip:{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {LOOPBACK}:{local_port};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:probe@{LOOPBACK}>;tag={tag}",
        f"To: <sip:{host}:{port}>",
        f"Call-ID: {uuid.uuid4().hex}@{LOOPBACK}",
        "CSeq: 1 OPTIONS",
        "Accept: application/sdp",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def probe_options(host: str, port: int, timeout_s: float = 0.3) -> str | None:
    """Send one OPTIONS over UDP; the response text, or None if nothing came back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.settimeout(timeout_s)
        local_port = int(sock.getsockname()[1])
        sock.sendto(options_request(host, port, local_port), (host, port))
        try:
            data, _ = sock.recvfrom(65535)
        except (TimeoutError, ConnectionRefusedError, OSError):
            return None
    return data.decode(errors="replace")


class JonoServer:
    """One running ``jono serve``; ``stop()`` is SIGTERM, then SIGKILL after 5 s."""

    def __init__(
        self, config: dict[str, Any], workdir: Path, *, port: int | None = None,
        args: Sequence[str] = (), plan: Path | None = None,
    ) -> None:
        """``plan``: a dial-plan file to run as it is (``config`` is then only
        read); the addresses come from the command line, as a user would
        give them."""
        self.host = LOOPBACK
        self.port = port or free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = copy.deepcopy(config)
        self.config.setdefault("server", {})["listen"] = f"{self.host}:{self.port}"
        # Never the default 8080: tests run side by side and would share it.
        if plan is not None:
            self.config["server"]["http"] = f"{self.host}:{free_port()}"
        self.config["server"].setdefault("http", f"{self.host}:{free_port()}")
        self._plan_as_is = plan is not None
        self.config_path = plan if plan is not None else workdir / "jono.yaml"
        if plan is None:
            self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.db_path = workdir / "jono.db"
        self.log_path = workdir / "jono.log"
        self.command = [
            str(JONO_BIN),
            "serve",
            str(self.config_path),
            "--listen",
            f"{self.host}:{self.port}",
            "--db",
            f"sqlite:///{self.db_path}",
            "--http",
            self.config["server"]["http"],
        ]
        if self.config["server"].get("tls") is not None:
            self.command += ["--tls-listen", self._new_tls_port()]
        if os.environ.get(SCHEDULE_TIME_ENV):
            self.command += ["--schedule-time", os.environ[SCHEDULE_TIME_ENV]]
        self.command += list(args)
        self._log = self.log_path.open("wb")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``host:port`` as SIPp and the phones want it."""
        return f"{self.host}:{self.port}"

    def uri(self, user: str, transport: str = "udp") -> str:
        if transport == "tls":
            return f"sip:{user}@{self.tls_address};transport=tls"
        suffix = ";transport=tcp" if transport == "tcp" else ""
        return f"sip:{user}@{self.host}:{self.port}{suffix}"

    @property
    def tls_address(self) -> str:
        """``host:port`` of SIP over TLS (the plan's ``server.tls.listen``)."""
        tls = self.config["server"].get("tls")
        if not tls or "listen" not in tls:
            raise AssertionError("this server has no server.tls.listen in its plan")
        return str(tls["listen"])

    def start(self) -> JonoServer:
        """Start and wait for OPTIONS 200. A port picked by ``free_port`` can be
        taken by another process before Jono binds it (phones and SIPp bind
        ephemeral ports too): then Jono is restarted on fresh ports."""
        if not JONO_BIN.exists():
            raise JonoStartError(f"{JONO_BIN} not found: run `make test` (pip install -e .)")
        for _ in range(PORT_RACE_RETRIES):
            try:
                self._start_once()
            except JonoStartError:
                if "jono: cannot listen on" not in self.log_text():
                    raise
                self._new_ports(sip=True)
                continue
            if "HTTP API not started" not in self.log_text():
                return self
            self.stop()
            self._new_ports(sip=False)
        self._start_once()
        return self

    def _new_tls_port(self) -> str:
        """SIP over TLS on a port of its own (a shipped plan's 5061 may be taken):
        given on the command line, and noted in ``config`` for :meth:`tls_address`."""
        address = f"{self.host}:{free_port()}"
        self.config["server"]["tls"] = {**(self.config["server"]["tls"] or {}), "listen": address}
        return address

    def _new_ports(self, *, sip: bool) -> None:
        if sip:
            self.port = free_port()
            self.config["server"]["listen"] = f"{self.host}:{self.port}"
            self.command[self.command.index("--listen") + 1] = f"{self.host}:{self.port}"
        self.config["server"]["http"] = f"{self.host}:{free_port()}"
        self.command[self.command.index("--http") + 1] = self.config["server"]["http"]
        if "--tls-listen" in self.command:
            self.command[self.command.index("--tls-listen") + 1] = self._new_tls_port()
        if not self._plan_as_is:
            self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        if not self._log.closed:
            self._log.close()
        self._log = self.log_path.open("wb")  # the next attempt's log

    def _start_once(self) -> None:
        self.proc = subprocess.Popen(
            self.command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        answer: str | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise JonoStartError(
                    f"jono exited with {self.proc.returncode} at start\n"
                    f"command: {' '.join(self.command)}\nlog tail:\n{self.log_text()[-3000:]}"
                )
            reply = probe_options(self.host, self.port)
            if reply is not None:
                answer = reply.split("\r\n", 1)[0]
                if reply.startswith("SIP/2.0 200"):
                    return
            time.sleep(0.1)
        self.stop()
        raise JonoStartError(
            f"jono did not answer OPTIONS with 200 on udp {self.address} within "
            f"{START_TIMEOUT_S:.0f} s (last answer: {answer!r})\n"
            f"command: {' '.join(self.command)}\nlog tail:\n{self.log_text()[-3000:]}"
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM, wait 5 s, SIGKILL; the exit code (None if never started)."""
        if self.proc is None:
            self._log.close()
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        code = self.proc.wait()
        self._log.close()
        return code


def base_config(*, trunk: bool = True, static_uas: str | None = None) -> dict[str, Any]:
    """The minimal config from the brief: alice 1001, bob 1002, uas 2000.

    ``trunk``: 127.0.0.1 is a provider, so its requests are not challenged
    (leave it False for the digest tests). ``static_uas``: the contact URI of
    user ``uas`` (extension 2000), e.g. a SIPp UAS.
    """
    users: dict[str, Any] = {
        "alice": {"extension": "1001", "password": "alicepw"},
        "bob": {"extension": "1002", "password": "bobpw"},
        "carol": {"extension": "1003", "password": "carolpw"},
    }
    if static_uas is not None:
        users["uas"] = {
            "extension": "2000",
            "password": "x",
            "devices": [{"kind": "static", "contact": static_uas}],
        }
    config: dict[str, Any] = {
        "server": {"listen": "127.0.0.1:5060", "realm": "jono", "media": "passthrough"},
        "users": users,
    }
    if trunk:
        # The test tools play the provider and dial extensions straight.
        config["trunks"] = {"provider": {
            "inbound_sources": [LOOPBACK], "reach": "public_numbers_and_extensions",
        }}
    return config


StartJono = Callable[..., JonoServer]
"""The type of the ``jono`` fixture: ``jono(config, args=()) -> JonoServer``."""
