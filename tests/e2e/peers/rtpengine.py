"""A real rtpengine (Debian's rtpengine-daemon, user space) on 127.0.0.1 for e2e tests.

``make test`` runs scripts/install_test_tools, which installs the daemon's libraries
with apt and unpacks the daemon into /opt/rtpengine with ``dpkg -x`` (no init script,
no system-wide instance): each test starts its own on ports of its own. A missing
daemon fails the test with that instruction; nothing is skipped.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from media.rtpengine.bencode import Decoded, decode, encode
from peers.ports import free_port, free_port_block

UNPACKED = Path("/opt/rtpengine/usr/bin/rtpengine")
HOST = "127.0.0.1"
PORTS = 100  # RTP and RTCP for a few calls of two legs, four ports per Jono leg


def find_rtpengine() -> str:
    found = shutil.which("rtpengine")
    if found:
        return found
    if UNPACKED.exists():
        return str(UNPACKED)
    pytest.fail(
        "rtpengine not found: run `make tools` (scripts/install_test_tools, as root): it "
        "installs Debian's rtpengine-daemon libraries with apt and unpacks the daemon "
        f"into {UNPACKED.parent.parent.parent}",
        pytrace=False,
    )


class Rtpengine:
    """``with Rtpengine(dir) as rtp:`` - ``rtp.ng`` is its ng address, HOST:PORT."""

    def __init__(self, workdir: Path) -> None:
        self.binary = find_rtpengine()
        self._cookies = itertools.count(1)
        self.ng_port = free_port()
        first = free_port_block(PORTS + 1)
        self.ports = range(first + first % 2, first + first % 2 + PORTS)
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "rtpengine.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                self.binary, "--foreground", "--log-stderr",
                "--table=-1",  # user space only: no kernel module on a test machine
                f"--interface={HOST}", f"--listen-ng={HOST}:{self.ng_port}",
                f"--port-min={self.ports.start}", f"--port-max={self.ports.stop - 1}",
                "--delete-delay=0", "--log-level=6",
            ],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait_ready()

    @property
    def ng(self) -> str:
        return f"{HOST}:{self.ng_port}"

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            while time.monotonic() < deadline and self.process.poll() is None:
                sock.sendto(b"ready d7:command4:pinge", (HOST, self.ng_port))
                try:
                    if b"pong" in sock.recv(1000):
                        return
                except TimeoutError:
                    continue
        self.stop()
        pytest.fail(f"rtpengine did not answer ping:\n{self.log_text()[-3000:]}", pytrace=False)

    def command(self, command: str) -> dict[str, Decoded]:
        """One ng request (a bencoded dictionary over UDP) and its reply."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2.0)
            # rtpengine answers a repeated cookie from its cache: one cookie per request.
            cookie = f"e2e-{next(self._cookies)}".encode()
            sock.sendto(cookie + b" " + encode({"command": command}), (HOST, self.ng_port))
            _, _, body = sock.recv(65535).partition(b" ")
        reply = decode(body)
        assert isinstance(reply, dict), reply
        return reply

    def calls(self) -> list[str]:
        """The call ids rtpengine holds (ng "list")."""
        listed = self.command("list").get("calls", [])
        assert isinstance(listed, list)
        return [c.decode() if isinstance(c, bytes) else str(c) for c in listed]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> Rtpengine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
