"""A real rtpengine (Debian's rtpengine-daemon, user space) on 127.0.0.1 for tests.

scripts/install_test_tools unpacks the daemon into /opt/rtpengine (dpkg -x: no init
script). A missing daemon fails the test with that instruction; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

UNPACKED = Path("/opt/rtpengine/usr/bin/rtpengine")
HOST = "127.0.0.1"


def find_rtpengine() -> str:
    found = shutil.which("rtpengine")
    if found:
        return found
    if UNPACKED.exists():
        return str(UNPACKED)
    pytest.fail(
        "rtpengine not found: run `scripts/install_test_tools` as root (or `make test`): "
        "it installs Debian's rtpengine-daemon libraries with apt and unpacks the daemon "
        f"into {UNPACKED.parent.parent.parent}",
        pytrace=False,
    )


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_range() -> tuple[int, int]:
    """RTP ports for this test worker's rtpengine (pytest-xdist workers differ)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = 46000 + 1000 * (int(worker) % 8 if worker.isdigit() else 0)
    return base, base + 998


class RtpengineDaemon:
    def __init__(self, log_path: Path) -> None:
        self.binary = find_rtpengine()
        self.ng_port = _free_udp_port()
        self.port_min, self.port_max = port_range()
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--foreground",
                "--log-stderr",
                "--table=-1",  # user space only: no kernel module here
                f"--interface={HOST}",
                f"--listen-ng={HOST}:{self.ng_port}",
                f"--port-min={self.port_min}",
                f"--port-max={self.port_max}",
                "--delete-delay=0",
                "--log-level=6",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                sock.sendto(b"ready d7:command4:pinge", (HOST, self.ng_port))
                try:
                    if b"pong" in sock.recv(1000):
                        return
                except TimeoutError:
                    continue
        self.stop()
        pytest.fail(f"rtpengine did not answer ping:\n{self.log_text()[-3000:]}", pytrace=False)

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
