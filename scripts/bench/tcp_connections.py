#!/usr/bin/env python3
"""How many useless TCP connections does `jono serve` keep? (issue 10 item 5)

Starts Jono with default settings on a free loopback port and opens, as the
issue's probe did:

  idle       500 connections that send nothing (5 per address, 127.0.1.x);
  slowloris  300 connections that send the first 40 bytes of an OPTIONS and
             then one byte every 5 s (5 per address, 127.0.2.x);
  flood      500 connections from one address (127.0.3.1);
  registered 5 connections that REGISTER with digest and then stay silent.

and counts how many of each the server still holds open after 2 s, 20 s and
45 s (the defaults: message deadline 10 s, idle 30 s, 100 per address).
Run against another source tree (e.g. before the change) with --source DIR:

    git archive e07d3f0 sip acd media prompts | tar -x -C /tmp/before
    flock /tmp/jono-bench.lock .venv/bin/python scripts/bench/tcp_connections.py --source /tmp/before
    flock /tmp/jono-bench.lock .venv/bin/python scripts/bench/tcp_connections.py
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from procstat import HOST, free_port  # sibling module (sys.path[0])

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from sip.auth import answer_challenge  # noqa: E402

CHECKPOINTS = (2.0, 20.0, 45.0)


def start_jono(workdir: Path, source: Path | None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    plan = workdir / "plan.yaml"
    plan.write_text(
        f'server: {{listen: "{HOST}:{port}", realm: bench, http: "{HOST}:{free_port()}"}}\n'
        "users:\n  alice: {extension: '1001', password: alicepw}\n"
    )
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
        command = [sys.executable, "-c", "import sys; from acd.cli import main; sys.exit(main())"]
    else:
        command = [str(ROOT / ".venv/bin/jono")]
    proc = subprocess.Popen(
        [*command, "serve", str(plan), "--db", f"sqlite:///{workdir}/bench.db",
         "--log-level", "WARNING", "--pid-file", str(workdir / "jono.pid")],
        stdout=subprocess.PIPE, stderr=(workdir / "jono.log").open("wb"), cwd=workdir, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    if "listening" not in proc.stdout.readline().decode():
        raise SystemExit(f"jono did not start; see {workdir / 'jono.log'}")
    return proc, port


def connect(port: int, source: str) -> socket.socket | None:
    try:
        sock = socket.create_connection((HOST, port), timeout=2, source_address=(source, 0))
    except OSError:
        return None
    sock.setblocking(False)
    return sock


def open_by_server(sock: socket.socket) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return True
    try:
        while sock.recv(65535):
            pass
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def options(port: int, sock: socket.socket) -> bytes:
    host, local = sock.getsockname()
    return (
        f"OPTIONS sip:{HOST}:{port};transport=tcp SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP {host}:{local};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:x@127.0.0.1>;tag=a\r\nTo: <sip:x@127.0.0.1>\r\n"
        "Call-ID: slow\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def register(port: int, sock: socket.socket, auth: str = "", cseq: int = 1) -> bytes:
    host, local = sock.getsockname()
    return (
        f"REGISTER sip:{HOST}:{port};transport=tcp SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP {host}:{local};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:alice@{HOST}>;tag=r{local}\r\nTo: <sip:alice@{HOST}>\r\n"
        f"Call-ID: reg{local}\r\nCSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:alice@{host}:{local};transport=tcp>\r\nExpires: 3600\r\n{auth}"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def read_head(sock: socket.socket) -> str:
    sock.setblocking(True)
    sock.settimeout(2)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65535)
    sock.setblocking(False)
    return data.decode(errors="replace")


def registered_connection(port: int, source: str) -> socket.socket | None:
    sock = connect(port, source)
    if sock is None:
        return None
    sock.sendall(register(port, sock))
    head = read_head(sock)
    challenge = next(
        (line.split(":", 1)[1].strip() for line in head.split("\r\n")
         if line.lower().startswith("www-authenticate:")), None,
    )  # fmt: skip
    if challenge is None:
        return None
    value = answer_challenge(challenge, "REGISTER", f"sip:{HOST}:{port};transport=tcp",
                             "alice", "alicepw", "cn")
    sock.sendall(register(port, sock, f"Authorization: {value}\r\n", 2))
    return sock if " 200 " in read_head(sock).split("\r\n")[0] else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="run jono from this source tree (PYTHONPATH)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    workdir = Path(tempfile.mkdtemp(prefix="jono-tcp-bench-"))
    jono, port = start_jono(workdir, args.source)
    groups: dict[str, list[socket.socket]] = {}
    try:
        groups["registered"] = [s for i in range(5)
                                if (s := registered_connection(port, f"127.0.4.{i + 1}"))]
        groups["idle"] = [s for i in range(500) if (s := connect(port, f"127.0.1.{i // 5 + 1}"))]
        groups["slowloris"] = [s for i in range(300)
                               if (s := connect(port, f"127.0.2.{i // 5 + 1}"))]
        groups["flood"] = [s for _ in range(500) if (s := connect(port, "127.0.3.1"))]
        partial = {id(s): options(port, s) for s in groups["slowloris"]}
        sent = {id(s): 40 for s in groups["slowloris"]}
        for sock in groups["slowloris"]:
            sock.send(partial[id(sock)][:40])
        started = time.monotonic()
        counts: dict[float, dict[str, int]] = {}
        last_drip = started
        for checkpoint in CHECKPOINTS:
            while time.monotonic() - started < checkpoint:
                if time.monotonic() - last_drip >= 5.0:  # slowloris: one more byte each 5 s
                    last_drip = time.monotonic()
                    for sock in groups["slowloris"]:
                        try:
                            sock.send(partial[id(sock)][sent[id(sock)] : sent[id(sock)] + 1])
                            sent[id(sock)] += 1
                        except OSError:
                            pass
                time.sleep(0.2)
            counts[checkpoint] = {
                name: sum(open_by_server(s) for s in socks) for name, socks in groups.items()
            }
    finally:
        for socks in groups.values():
            for sock in socks:
                sock.close()
        jono.send_signal(signal.SIGTERM)
        jono.wait(10)
    print(f"jono from {args.source or ROOT}; {time.strftime('%Y-%m-%d %H:%M')}")
    names = ("idle", "slowloris", "flood", "registered")
    opened = {"idle": 500, "slowloris": 300, "flood": 500, "registered": 5}
    print("| still open after | " + " | ".join(f"{n} ({opened[n]})" for n in names) + " |")
    for checkpoint, row in counts.items():
        print(f"| {checkpoint:.0f} s | " + " | ".join(str(row.get(n, 0)) for n in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
