#!/usr/bin/env python3
"""Wallboard under load (issue 12): how fast the live views reach connected pages,
and what they cost Jono.

* Jono runs as ``jono serve`` on a generated plan: ``--queues`` queues, each
  with its own number, and ``--agents`` agents (each a member of two queues)
  whose one device is a static contact on one SIPp uas (answers at once, hangs
  up after a random talk time). All agents are logged in and ready through the
  API (an admin's bearer token), wrap-up ``--wrap-up`` seconds.
* This script places ``--rate`` new calls/s through the trunk, each to a random
  queue's number (our own SIP stack as the UAC; no RTP from the callers).
* ``--clients`` event-stream clients (what a wallboard page opens:
  ``/api/events?types=agent,queue``; an admin's token, so every client gets
  every view: the worst case) run in a separate process; for each event they
  take ``time.time() - at`` (``at``: the engine's decision time the view
  carries; same machine, same clock).
* One Jono, two phases of ``--phase`` seconds under the same call load: first
  no client connected (views are then not even built), then the clients.
  Web CPU per event = (CPU with clients - CPU without) / views delivered;
  memory per client = RSS growth when the clients connect / clients.

    .venv/bin/python scripts/bench/wallboard.py --queues 200 --agents 2000 --clients 50 --rate 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# Siblings (this directory is sys.path[0] when the script runs).
from acd_server import PIN_JONO, PIN_PEERS, UAS_SCENARIO, _pin, percentile  # noqa: E402
from procstat import HOST, cpu_seconds, free_port, rss_bytes  # noqa: E402
from webauth import ADMIN, admin_token, admin_user, set_admin_password  # noqa: E402

from sip.leg_events import Answered, Ended, Failed, LegEvent  # noqa: E402
from sip.legs import OutgoingCall  # noqa: E402
from sip.message import Request  # noqa: E402
from sip.transport import Target  # noqa: E402
from sip.ua import UserAgent  # noqa: E402

# A view's "at" is its last key; the snapshot that opens the stream is not a change.
AT = re.compile(rb'event: (?:agent|queue)\ndata: [^\n]*"at":([0-9.]+)\}')


# -- the event-stream clients (their own process) -------------------------------------
async def one_client(port: int, token: str, until: float, out: list[float]) -> int:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(
        f"GET /api/events?types=agent,queue HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"event stream refused: {status!r}")
    events = 0
    tail = b""
    while time.time() < until:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), max(0.1, until - time.time()))
        except TimeoutError:
            break
        if not chunk:
            break
        now = time.time()
        data, _, tail = (tail + chunk).rpartition(b"\n\n")  # whole events only
        for match in AT.finditer(data):
            out.append(now - float(match.group(1)))
            events += 1
    writer.close()
    return events


async def clients_main(port: int, token: str, count: int, seconds: float) -> None:
    until = time.time() + seconds
    latencies: list[list[float]] = [[] for _ in range(count)]
    counts = await asyncio.gather(
        *(one_client(port, token, until, latencies[i]) for i in range(count))
    )
    flat = [x for lat in latencies for x in lat]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "cpu": (usage.ru_utime + usage.ru_stime) / seconds,
        "events": list(counts),
        "p50_ms": 1000 * percentile(flat, 50), "p99_ms": 1000 * percentile(flat, 99),
        "max_ms": 1000 * max(flat or [0.0]),
    }), flush=True)


# -- the callers ----------------------------------------------------------------------
class Callers:
    """Calls through the trunk to the queues' numbers; the agents end them."""

    def __init__(self, jono_port: int, queues: int) -> None:
        self.target = Target("udp", HOST, jono_port)
        self.ua = UserAgent(self, public_host=HOST)
        self.queues = queues
        self.placed = self.answered = self.failed = self.ended = 0
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # RTP to us goes here
        self.sink.bind((HOST, 0))
        self.sink.setblocking(False)

    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        ua.respond(txn, request, 481)

    async def start(self) -> None:
        await self.ua.start(HOST, free_port())
        asyncio.get_running_loop().add_reader(self.sink.fileno(), self._drain)

    def _drain(self) -> None:
        try:
            while self.sink.recv(2048):
                pass
        except BlockingIOError:
            pass

    def place(self) -> None:
        n = self.placed
        self.placed += 1
        port = self.sink.getsockname()[1]
        sdp = (
            f"v=0\r\no=bench {n} 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        ).encode()
        uri = f"sip:{6000 + random.randrange(self.queues)}@{HOST}:{self.target.port}"
        call = OutgoingCall(self.ua, [(uri, self.target)], from_uri=f"sip:+35840{n:07d}@{HOST}",
                            to_uri=uri, sdp=sdp)

        def on_event(event: LegEvent) -> None:
            if isinstance(event, Answered):
                self.answered += 1
            elif isinstance(event, Failed):
                self.failed += 1
            elif isinstance(event, Ended):
                self.ended += 1

        call.listener = on_event
        call.start()


# -- the server ------------------------------------------------------------------------
def write_config(workdir: Path, args: Any, sipp_port: int, http_port: int) -> Path:
    users: dict[str, Any] = {
        f"agent{i:04d}": {
            "extension": str(10000 + i), "password": "x",
            "devices": [{"kind": "static", "contact": f"sip:agent{i:04d}@{HOST}:{sipp_port}"}],
        }
        for i in range(args.agents)
    }
    queues: dict[str, Any] = {}
    for q in range(args.queues):
        members = [f"agent{i:04d}" for i in range(args.agents)
                   if i % args.queues == q or (i + 1) % args.queues == q]
        queues[f"q{q:03d}"] = {"members": members, "ring_time": 10, "wrap_up": args.wrap_up}
    config = {
        "server": {"listen": f"{HOST}:5060", "http": f"{HOST}:{http_port}",
                   "media": "anchor", "rtp_ports": "30000-45000"},
        "users": {**users, ADMIN: admin_user()},
        "trunks": {"provider": {"inbound_sources": [HOST]}},
        "numbers": {str(6000 + q): {"destination": f"queue:q{q:03d}"} for q in range(args.queues)},
        "queues": queues,
    }
    path = workdir / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def place_calls(callers: Callers, rate: float, seconds: float) -> None:
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        callers.place()
        n += 1
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))


async def run(args: Any) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="jono-wallboard-bench-"))
    sip_port, http_port, sipp_port = free_port(), free_port(), free_port()
    config = write_config(workdir, args, sipp_port, http_port)
    db = workdir / "jono.db"
    set_admin_password(config, db)
    scenario = workdir / "agent.xml"
    scenario.write_text(UAS_SCENARIO.replace("TALK_MIN", str(int(args.talk_min * 1000)))
                        .replace("TALK_MAX", str(int(args.talk_max * 1000))))
    log = (workdir / "jono.log").open("wb")
    jono = subprocess.Popen(
        [*PIN_JONO, str(Path(sys.executable).with_name("jono")), "serve", str(config),
         "--listen", f"{HOST}:{sip_port}", "--db", f"sqlite:///{db}", "--log-level", "WARNING",
         "--pid-file", str(workdir / "jono.pid")],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    sipp = subprocess.Popen(
        [*PIN_PEERS, "sipp", "-sf", str(scenario), "-i", HOST, "-p", str(sipp_port), "-mi", HOST,
         "-mp", str(free_port()), "-nostdin", "-l", "5000"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://{HOST}:{http_port}"
    clients: subprocess.Popen[str] | None = None
    first: subprocess.Popen[str] | None = None
    try:
        async with httpx.AsyncClient(base_url=base, trust_env=False) as c:
            for _ in range(600):
                try:
                    if (await c.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        token = await admin_token(base)
        headers = {"authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, trust_env=False, headers=headers) as c:
            for i in range(args.agents):
                (await c.post(f"/api/agents/agent{i:04d}/state", json={"state": "ready"})
                 ).raise_for_status()
        callers = Callers(sip_port, args.queues)
        await callers.start()
        total = args.warmup + 2 * args.phase + 5
        load = asyncio.get_running_loop().create_task(place_calls(callers, args.rate, total))
        await asyncio.sleep(args.warmup)
        cpu_a0, t_a0 = cpu_seconds(jono.pid), time.monotonic()
        await asyncio.sleep(args.phase)
        cpu_a1, t_a1 = cpu_seconds(jono.pid), time.monotonic()
        rss_a = rss_bytes(jono.pid)

        def connect(count: int, seconds: float) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [*PIN_PEERS, sys.executable, __file__, "--clients-only", str(http_port), token,
                 str(count), str(seconds)],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip

        # One client first (the views' shared caches fill), then the others: memory
        # per client is what the others add.
        first = connect(1, args.phase + 6)
        await asyncio.sleep(3)
        rss_1 = rss_bytes(jono.pid)
        clients = connect(args.clients - 1, args.phase + 3)
        await asyncio.sleep(3)  # connected, first snapshots sent
        rss_b = rss_bytes(jono.pid)
        cpu_b0, t_b0 = cpu_seconds(jono.pid), time.monotonic()
        await asyncio.sleep(args.phase)
        cpu_b1, t_b1 = cpu_seconds(jono.pid), time.monotonic()
        out, _ = clients.communicate(timeout=60)
        out_first, _ = first.communicate(timeout=60)
        load.cancel()
        await asyncio.sleep(1)
    finally:
        for proc in (clients, first):
            if proc is not None and proc.poll() is None:
                proc.kill()
        sipp.send_signal(signal.SIGTERM)
        jono.send_signal(signal.SIGTERM)
        for proc in (jono, sipp):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    result = json.loads(out.strip().splitlines()[-1])
    one = json.loads(out_first.strip().splitlines()[-1])
    with sqlite3.connect(db) as conn:
        kinds = dict(conn.execute(
            "SELECT kind, count(*) FROM queue_events WHERE kind != 'agent_state' GROUP BY kind"))
    cpu_a = (cpu_a1 - cpu_a0) / (t_a1 - t_a0)
    cpu_b = (cpu_b1 - cpu_b0) / (t_b1 - t_b0)
    events = result["events"]
    per_client_rate = sum(events) / len(events) / (args.phase + 3)
    delivered = per_client_rate * args.clients
    print(f"workdir: {workdir}")
    print(f"queues {args.queues}, agents {args.agents}, clients {args.clients}, "
          f"{args.rate:g} calls/s, talk {args.talk_min:g}-{args.talk_max:g} s, "
          f"wrap-up {args.wrap_up} s, phases {args.phase:.0f} s")
    print(f"calls placed {callers.placed}, answered {callers.answered}, failed {callers.failed}")
    print(f"queue events: {kinds}")
    print(f"views per client {per_client_rate:.0f}/s (every client sees every view); "
          f"delivered {delivered:.0f}/s in all; min/max per client {min(events)}/{max(events)}")
    print(f"delivery latency, engine decision -> client: p50 {result['p50_ms']:.1f} ms, "
          f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms "
          f"(the first client alone: p99 {one['p99_ms']:.1f} ms); the clients' process used "
          f"{100 * result['cpu']:.0f}% of a core")
    print(f"jono CPU without clients {100 * cpu_a:.1f}% of a core, with {args.clients} clients "
          f"{100 * cpu_b:.1f}%: web side {1e6 * (cpu_b - cpu_a) / max(per_client_rate, 1):.0f} "
          f"µs per view (all clients), {1e6 * (cpu_b - cpu_a) / max(delivered, 1):.1f} µs per "
          "view per client")
    print(f"jono RSS {rss_a / 2**20:.1f} MiB before the clients, {rss_1 / 2**20:.1f} MiB with "
          f"one, {rss_b / 2**20:.1f} MiB with {args.clients}: "
          f"{(rss_b - rss_1) / max(args.clients - 1, 1) / 1024:.0f} KiB per further client; "
          f"cores: {'jono on 0, the rest on 1' if PIN_JONO else 'shared'}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--clients-only":
        port, token, count, seconds = sys.argv[2:6]
        asyncio.run(clients_main(int(port), token, int(count), float(seconds)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="new calls per second")
    parser.add_argument("--talk-min", type=float, default=5.0, help="agent talk time, s")
    parser.add_argument("--talk-max", type=float, default=15.0)
    parser.add_argument("--wrap-up", type=int, default=5, help="seconds")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before measuring")
    parser.add_argument("--phase", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--no-pin", action="store_true", help="do not pin Jono to one core")
    args = parser.parse_args()
    _pin(not args.no_pin)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        import uvloop

        return uvloop.run(run(args))
    except ImportError:
        return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
