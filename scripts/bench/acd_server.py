#!/usr/bin/env python3
"""Whole-server ACD benchmark (issue 4): callers wait in a queue with music on
hold and announcements while agents take calls.

* Jono runs as ``jono serve`` on a generated dial plan: one queue ``bench``
  (position/EWT every 15 s, "still in queue" every 30 s, music on hold),
  ``--agents`` users whose one device is a static contact: a SIPp uas each,
  answering at once and hanging up after a random talk time. Agents are
  logged in through the HTTP API.
* This script is the callers: ``--callers`` calls through the trunk
  (127.0.0.1 is a provider) to 5000 at ``--rate`` new calls/s, topped up so
  that ``--callers`` are in the system, for ``--duration`` seconds. Each
  caller sends 20 ms of PCMU silence every 20 ms (so its media is alive) and
  timestamps every RTP packet it receives.
* Reported: calls placed / answered by an agent / lost (the INVITE failed or
  Jono ended the call before an agent answered), p50/p99/max RTP lateness to
  waiting callers, Jono's CPU (% of one core) and RSS idle and under load,
  and per waiting caller.

RTP lateness of a packet: its arrival time minus the earliest it could have
arrived given the 20 ms pacing, i.e. ``(t - 0.02 * seq) - min`` over the
stream's previous second (the minimum tracks playback switches).

    .venv/bin/python scripts/bench/acd_server.py --callers 100 --agents 20 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from collections import deque
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# The sibling module: this directory is sys.path[0] when the script runs.
from procstat import HOST, cpu_seconds, free_port, rss_bytes  # noqa: E402
from webauth import ADMIN, admin_token, admin_user, set_admin_password  # noqa: E402

from sip.leg_events import Answered, Ended, Failed, LegEvent  # noqa: E402
from sip.legs import OutgoingCall  # noqa: E402
from sip.message import Request  # noqa: E402
from sip.transport import Target  # noqa: E402
from sip.ua import UserAgent  # noqa: E402

SILENCE = b"\xff" * 160  # PCMU

UAS_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="bench_agent">
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="remote_from"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="local_to"/>
    </action>
  </recv>
  <send><![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

  ]]></send>
  <send retrans="500"><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=agent 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

  ]]></send>
  <recv request="ACK" crlf="true"/>
  <pause distribution="uniform" min="TALK_MIN" max="TALK_MAX"/>
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      From: [$local_to];tag=[pid]SIPpTag01[call_number]
      To: [$remote_from]
      [last_Call-ID:]
      CSeq: 1 BYE
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

  ]]></send>
  <recv response="200" crlf="true"/>
</scenario>
"""


# Jono alone on the first core, the callers and the SIPp agents on the other
# (the issue asks what one core carries); --no-pin shares both cores.
PIN_JONO: list[str] = []
PIN_PEERS: list[str] = []


def _pin(enabled: bool) -> None:
    if not enabled or not shutil.which("taskset") or (os.cpu_count() or 1) < 2:
        return
    PIN_JONO[:] = ["taskset", "-c", "0"]
    PIN_PEERS[:] = ["taskset", "-c", "1"]
    os.sched_setaffinity(0, {1})


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class RtpReceiver(asyncio.DatagramProtocol):
    def __init__(self, lateness: array[float]) -> None:
        self.lateness = lateness
        self.window: deque[float] = deque(maxlen=50)
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: tuple[str, int] | None = None
        self.seq = random.randrange(65536)
        self.ts = random.randrange(2**32)
        self.ssrc = random.randrange(2**32)
        self.base_seq: int | None = None
        self.last_seq = 0
        self.connected = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        now = time.monotonic()
        if len(data) < 12 or self.connected:
            return
        if 192 <= data[1] <= 223:
            # RFC 5761 section 4: RTCP. Jono sends its reports to our RTP port + 1,
            # which may be another caller's RTP socket (ports here are ephemeral).
            return
        seq = struct.unpack_from("!H", data, 2)[0]
        if self.base_seq is None:
            self.base_seq = seq
            self.last_seq = 0
        else:
            delta = (seq - self.base_seq - self.last_seq) % 65536
            if delta > 32768:
                return  # reordered or duplicate
            self.last_seq += delta
        offset = now - 0.02 * self.last_seq
        self.window.append(offset)
        self.lateness.append(offset - min(self.window))

    def send_silence(self) -> None:
        if self.transport is None or self.peer is None:
            return
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + 160) & 0xFFFFFFFF
        header = struct.pack("!BBHII", 0x80, 0, self.seq, self.ts, self.ssrc)
        self.transport.sendto(header + SILENCE, self.peer)


class Callers:
    """The bench's callers: our SIP stack as a plain UAC through the trunk."""

    def __init__(self, jono_port: int) -> None:
        self.target = Target("udp", HOST, jono_port)
        self.ua = UserAgent(self, public_host=HOST)
        # A flat array: millions of samples the collector need not walk.
        self.lateness: array[float] = array("d")
        self.calls: dict[str, dict[str, Any]] = {}
        self.active: dict[str, tuple[OutgoingCall, RtpReceiver]] = {}
        self.waiting = 0

    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        ua.respond(txn, request, 481)

    async def start(self) -> None:
        await self.ua.start(HOST, free_port())

    async def place(self, n: int) -> None:
        loop = asyncio.get_running_loop()
        rtp = RtpReceiver(self.lateness)
        transport, _ = await loop.create_datagram_endpoint(lambda: rtp, local_addr=(HOST, 0))
        port = transport.get_extra_info("sockname")[1]
        sdp = (
            f"v=0\r\no=bench {n} 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
        ).encode()
        uri = f"sip:5000@{HOST}:{self.target.port}"
        call = OutgoingCall(
            self.ua,
            [(uri, self.target)],
            from_uri=f"sip:+35840{n:07d}@{HOST}",
            to_uri=uri,
            sdp=sdp,
        )
        record: dict[str, Any] = {"state": "calling", "ended_by": None}
        self.calls[call.call_id] = record
        self.active[call.call_id] = (call, rtp)

        def on_event(event: LegEvent) -> None:
            if isinstance(event, Answered):
                record["state"] = "waiting"
                rtp.peer = _media_address(event.sdp or b"")
            elif isinstance(event, Failed):
                record["state"] = "failed"
                record["status"] = event.status
                self._done(call.call_id)
            elif isinstance(event, Ended):
                record["state"] = "ended"
                record["ended_by"] = "jono"
                self._done(call.call_id)

        call.listener = on_event
        call.start()

    def _done(self, call_id: str) -> None:
        entry = self.active.pop(call_id, None)
        if entry is not None and entry[1].transport is not None:
            entry[1].transport.close()

    def tick(self) -> None:
        for _, rtp in self.active.values():
            rtp.send_silence()

    def hangup_all(self) -> None:
        for call_id, (call, _) in list(self.active.items()):
            self.calls[call_id]["ended_by"] = "bench"
            call.hangup()
            self._done(call_id)


def _media_address(sdp: bytes) -> tuple[str, int] | None:
    host, port = HOST, None
    for line in sdp.decode(errors="replace").splitlines():
        if line.startswith("c=IN IP4 "):
            host = line.split()[-1]
        elif line.startswith("m=audio "):
            port = int(line.split()[1])
    return None if port is None else (host, port)


def write_config(workdir: Path, agents: list[int], http_port: int, args: Any) -> Path:
    users = {
        f"agent{i}": {
            "extension": str(3000 + i),
            "password": "x",
            "devices": [{"kind": "static", "contact": f"sip:agent{i}@{HOST}:{port}"}],
        }
        for i, port in enumerate(agents)
    }
    config = {
        "server": {
            "listen": f"{HOST}:5060",
            "http": f"{HOST}:{http_port}",
            "media": "anchor",
            "rtp_ports": "30000-45000",
        },
        "users": {**users, ADMIN: admin_user()},  # the API needs a signed-in admin
        "trunks": {"provider": {"inbound_sources": [HOST]}},
        "numbers": {"5000": {"destination": "queue:bench"}},
        "queues": {
            "bench": {
                "members": list(users),
                "ring_time": 10,
                "announce_position": True,
                "announce_ewt": True,
                "announce_every": 15,
                "still_in_queue_every": 30,
                "default_handle_time": int((args.talk_min + args.talk_max) / 2),
            }
        },
    }
    path = workdir / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start_agents(workdir: Path, ports: list[int], args: Any) -> list[subprocess.Popen[bytes]]:
    scenario = workdir / "agent.xml"
    scenario.write_text(
        UAS_SCENARIO.replace("TALK_MIN", str(int(args.talk_min * 1000))).replace(
            "TALK_MAX", str(int(args.talk_max * 1000))
        )
    )
    procs = []
    for port in ports:
        cmd = [
            *PIN_PEERS, "sipp", "-sf", str(scenario), "-i", HOST, "-p", str(port), "-mi", HOST,
            "-mp", str(free_port()), "-cp", str(free_port()), "-nostdin",
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    return procs


async def run(args: Any) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="jono-acd-bench-"))
    agent_ports = [free_port() for _ in range(args.agents)]
    http_port, sip_port = free_port(), free_port()
    config = write_config(workdir, agent_ports, http_port, args)
    db = workdir / "jono.db"
    set_admin_password(config, db)
    jono_bin = Path(sys.executable).with_name("jono")
    log = (workdir / "jono.log").open("wb")
    jono = subprocess.Popen(
        [*PIN_JONO, str(jono_bin), "serve", str(config), "--listen", f"{HOST}:{sip_port}",
         "--db", f"sqlite:///{db}", "--log-level", "WARNING", "--pid-file",
         str(workdir / "jono.pid")],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    agents = start_agents(workdir, agent_ports, args)
    callers = Callers(sip_port)
    try:
        base = f"http://{HOST}:{http_port}"
        async with httpx.AsyncClient(base_url=base, trust_env=False) as c:
            for _ in range(600):  # a loaded machine can take a minute to start Jono
                try:
                    if (await c.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise SystemExit(f"Jono's web did not answer within 60 s; its log: {log.name}")
        bearer = {"authorization": f"Bearer {await admin_token(base)}"}
        async with httpx.AsyncClient(base_url=base, trust_env=False, headers=bearer) as c:
            for i in range(args.agents):
                r = await c.post(f"/api/agents/agent{i}/state", json={"state": "ready"})
                r.raise_for_status()
        await callers.start()
        waiting_samples: list[int] = []
        ticker_samples: list[dict[str, float]] = []  # Jono's own send side

        async def sample_waiting() -> None:
            async with httpx.AsyncClient(base_url=base, trust_env=False, headers=bearer) as c:
                seconds = 0
                while True:
                    await asyncio.sleep(1.0)
                    seconds += 1
                    queues = (await c.get("/api/queues")).json()
                    waiting_samples.append(sum(q["waiting"] for q in queues))
                    if seconds % 30 == 0:  # the ticker keeps the last minute
                        ticker_samples.append((await c.get("/api/media")).json()["ticker"])

        sampler = asyncio.get_running_loop().create_task(sample_waiting())
        await asyncio.sleep(2.0)
        cpu0, t0 = cpu_seconds(jono.pid), time.monotonic()
        own0 = cpu_seconds(os.getpid())
        rss_idle = rss_bytes(jono.pid)
        # Fill the queue at --rate, then keep --callers in the system.
        placed = 0
        started = time.monotonic()
        next_tick = started
        next_call = started
        samples: list[tuple[int, int]] = []  # (callers in system, rss)
        measure_from = started + min(10.0, args.duration / 3)
        cpu_m = t_m = None
        while time.monotonic() - started < args.duration:
            now = time.monotonic()
            if now >= next_tick:
                callers.tick()
                next_tick += 0.02
            if now >= next_call and len(callers.active) < args.callers:
                await callers.place(placed)
                placed += 1
                next_call = now + 1.0 / args.rate
            if cpu_m is None and now >= measure_from:
                cpu_m, t_m = cpu_seconds(jono.pid), now
            if int(now * 2) != int((now - 0.005) * 2):
                samples.append((len(callers.active), rss_bytes(jono.pid)))
            await asyncio.sleep(max(0.0, min(next_tick, next_call) - time.monotonic()))
        async with httpx.AsyncClient(base_url=base, trust_env=False, headers=bearer) as c:
            ticker_samples.append((await c.get("/api/media")).json()["ticker"])
        cpu1, t1 = cpu_seconds(jono.pid), time.monotonic()
        own_pct = 100 * (cpu_seconds(os.getpid()) - own0) / (t1 - t0)
        sampler.cancel()
        in_system = [n for n, _ in samples[len(samples) // 3 :]] or [0]
        steady = waiting_samples[len(waiting_samples) // 3 :] or [0]
        rss_load = max(r for _, r in samples) if samples else rss_idle
        callers.hangup_all()
        await asyncio.sleep(2.0)
    finally:
        for proc in agents:
            proc.send_signal(signal.SIGTERM)
        jono.send_signal(signal.SIGTERM)
        try:
            jono.wait(timeout=10)
        except subprocess.TimeoutExpired:
            jono.kill()
        for proc in agents:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
    with sqlite3.connect(db) as conn:
        answered = {
            r[0] for r in conn.execute("SELECT call_id FROM queue_events WHERE kind = 'answered'")
        }
        kinds = dict(
            conn.execute(
                "SELECT kind, count(*) FROM queue_events WHERE kind != 'agent_state' GROUP BY kind"
            )
        )
    lost = [
        cid
        for cid, rec in callers.calls.items()
        if rec["state"] == "failed" or (rec["ended_by"] == "jono" and cid not in answered)
    ]
    in_sys = sum(in_system) / len(in_system)
    waiting = sum(steady) / len(steady)
    cpu_pct = 100 * (cpu1 - (cpu_m or cpu0)) / (t1 - (t_m or t0))
    print(f"workdir: {workdir}")
    print(
        f"callers in system (target) {args.callers}, agents {args.agents}, "
        f"duration {args.duration:.0f} s, talk {args.talk_min:g}-{args.talk_max:g} s"
    )
    print(f"calls placed {placed}, answered by an agent {len(answered)}, lost {len(lost)}")
    print(f"queue events: {kinds}")
    lat = [x * 1000 for x in callers.lateness]
    print(
        f"RTP packets to waiting callers {len(lat)}; lateness ms p50 "
        f"{percentile(lat, 50):.2f} p99 {percentile(lat, 99):.2f} max {max(lat or [0]):.2f}"
    )
    print(f"average callers in system {in_sys:.1f}, of them waiting in the queue {waiting:.1f}")
    print(f"jono CPU {cpu_pct:.1f}% of one core, {cpu_pct / max(waiting, 1):.3f}% per caller")
    print(
        f"bench callers process CPU {own_pct:.1f}% of one core (near 100%: the callers, "
        "not Jono, limit the lateness figures)"
    )
    print(
        f"jono RSS idle {rss_idle / 2**20:.1f} MiB, under load {rss_load / 2**20:.1f} MiB, "
        f"{(rss_load - rss_idle) / max(waiting, 1) / 1024:.1f} KiB per caller"
    )
    sent = ticker_samples[len(ticker_samples) // 3 :] or ticker_samples
    print(
        "jono ticker lateness (send side, per minute, worst minute): p50 "
        f"{max(t['late_p50_ms'] for t in sent):.2f} ms, p99 "
        f"{max(t['late_p99_ms'] for t in sent):.2f} ms, max "
        f"{max(t['late_max_ms'] for t in sent):.2f} ms, skipped ticks "
        f"{sent[-1]['skipped_ticks']:.0f}"
    )
    stalls = [float(m) for m in STALL.findall((workdir / "jono.log").read_text())]
    print(
        f"jono media ticker stalls > 100 ms logged: {len(stalls)}"
        + (f", worst {max(stalls):.0f} ms" if stalls else "")
        + f"; cores: {'jono on 0, callers and agents on 1' if PIN_JONO else 'shared'}"
    )
    return 0 if not lost else 1


STALL = re.compile(r"media ticker ran \d+ ms late \(\d+ stalls so far, worst (\d+) ms\)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=100, help="callers kept in the system")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--rate", type=float, default=20.0, help="new calls per second")
    parser.add_argument("--talk-min", type=float, default=5.0, help="agent talk time, s")
    parser.add_argument("--talk-max", type=float, default=15.0)
    parser.add_argument("--no-pin", action="store_true", help="do not pin Jono to one core")
    args = parser.parse_args()
    _pin(not args.no_pin)
    try:
        import uvloop

        return uvloop.run(run(args))
    except ImportError:
        return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
