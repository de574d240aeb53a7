#!/usr/bin/env python3
"""Soak (issue 16, goal 4): a real ``jono serve`` at a steady mix for a long time.

The mix, by default for 30 minutes:

* waiting callers - ``--callers`` (500) kept in the system through the trunk to the
  queue at up to ``--rate`` (20) new calls/s, each sending PCMU every 20 ms and
  hearing music on hold with position/EWT and "still in queue" announcements (the
  callers of scripts/bench/acd_server.py);
* agents - ``--agents`` (100) users whose device is a SIPp uas that answers at once,
  echoes the caller's RTP back (``-rtp_echo``) and hangs up after 5-15 s;
* bridged calls - ``--bridged`` (200) calls kept up by a SIPp uac through the trunk
  to extension 6000 (a user whose device is a SIPp uas echoing RTP), playing PCMA
  audio (SIPp's g711a.pcap, looped) for ``--talk`` (60) s each.

Jono runs alone on core 0 (taskset); the callers and SIPp share core 1. Sampled
every 10 s: Jono's RSS and CPU; every 30 s Jono's own ticker figures (/api/media).
Reported at the end: calls placed/answered/failed per kind, RSS after warm-up and its
slope (least squares, MiB per hour), stalls over 100 ms, the paced full collections
Jono logged (acd/gc_pacing.py: objects freed, ms), errors in Jono's log, and the
lateness of the music at the waiting callers. The time series go to soak.json in
the work directory.

    flock /tmp/jono-bench.lock .venv/bin/python scripts/bench/soak.py --duration 1800
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import acd_server  # noqa: E402  (the sibling benchmark: callers, agents, config)
from acd_server import HOST, STALL, UAS_SCENARIO, Callers  # noqa: E402
from procstat import cpu_seconds, free_port, rss_bytes  # noqa: E402
from webauth import admin_token, set_admin_password  # noqa: E402

STALLS_SO_FAR = re.compile(r"media ticker ran \d+ ms late \((\d+) stalls so far")
GC_LINE = re.compile(r"full collection freed (\d+) objects in (\d+) ms")
PCAP = Path("/usr/share/sip-tester/g711a.pcap")  # Debian sip-tester: 7 s of PCMA
PCAP_SECONDS = 7.1


class Histogram:
    """Lateness samples in 0.1 ms bins (a 30-minute soak has tens of millions)."""

    def __init__(self, width_ms: float = 0.1, top_ms: float = 2000.0) -> None:
        self.width = width_ms / 1000
        self.bins = [0] * (int(top_ms / width_ms) + 1)
        self.count = 0
        self.max = 0.0

    def append(self, value: float) -> None:
        self.count += 1
        if value > self.max:
            self.max = value
        self.bins[min(len(self.bins) - 1, int(value / self.width))] += 1

    def percentile(self, p: float) -> float:
        goal, seen = p / 100 * self.count, 0
        for index, n in enumerate(self.bins):
            seen += n
            if seen >= goal and n:
                return index * self.width * 1000
        return float("nan")


BRIDGED_UAC = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="soak_bridged_caller">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+3584019[call_number]@[local_ip]:[local_port]>;tag=[pid]SoakTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:soak@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=soak 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000

  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+3584019[call_number]@[local_ip]:[local_port]>;tag=[pid]SoakTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
AUDIO
  <send retrans="500"><![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+3584019[call_number]@[local_ip]:[local_port]>;tag=[pid]SoakTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200" crlf="true"/>
</scenario>
"""

PLAY = """  <nop><action><exec play_pcap_audio="pcap/g711a.pcap"/></action></nop>
  <pause milliseconds="{ms}"/>
"""

BRIDGED_UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="soak_bridged_callee">
  <recv request="INVITE" rrs="true"/>
  <send><![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SoakCallee[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

  ]]></send>
  <send retrans="500"><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SoakCallee[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=callee 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000

  ]]></send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>
</scenario>
"""


def write_config(workdir: Path, agents: list[int], talker: int, http: int, args: Any) -> Path:
    path = acd_server.write_config(workdir, agents, http, args)
    config = yaml.safe_load(path.read_text())
    config["users"]["talker"] = {
        "extension": "6001",
        "password": "x",
        "devices": [{"kind": "static", "contact": f"sip:talker@{HOST}:{talker}"}],
    }
    config["numbers"]["6000"] = {"destination": "user:talker"}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


_HANDED_OUT: set[int] = set()


def port(span: int = 1) -> int:
    """A free port never handed out before by this run (with span > 1, ports up to
    port + span - 1 are free and reserved too: SIPp's -mp also binds port + 2 for
    video). A port handed out twice once made an agent's SIPp fail to bind, and
    Jono's INVITE to that agent landed on another SIPp's echoing RTP port, which sent
    it straight back: a call storm."""
    while True:
        base = free_port()
        wanted = range(base, base + span)
        if any(p in _HANDED_OUT for p in wanted):
            continue
        try:
            for extra in wanted[1:]:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.bind((HOST, extra))
        except OSError:
            continue
        _HANDED_OUT.update(wanted)
        return base


def sipp(workdir: Path, scenario: str, name: str, sip_port: int, extra: list[str]) -> subprocess.Popen[bytes]:
    path = workdir / f"{name}.xml"
    path.write_text(scenario)
    cmd = [
        *acd_server.PIN_PEERS, "sipp", "-sf", str(path), "-i", HOST, "-p", str(sip_port),
        "-mi", HOST, "-mp", str(port(3)), "-cp", str(port()), "-nostdin",
        "-trace_err", *extra,
    ]  # fmt: skip
    return subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_delay(pid: int) -> float:
    """Seconds the process's threads have waited on a run queue (/proc/PID/schedstat,
    second field, summed over threads): CPU time other processes took from it."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def slope_mib_per_hour(points: list[tuple[float, int]]) -> float:
    if len(points) < 3:
        return float("nan")
    xs = [t for t, _ in points]
    ys = [r / 2**20 for _, r in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var * 3600


def sipp_stats(path: Path) -> dict[str, int]:
    """The last row of a SIPp -trace_stat file: successful and failed calls."""
    try:
        rows = list(csv.DictReader(path.read_text().splitlines(), delimiter=";"))
    except OSError:
        return {}
    if not rows:
        return {}
    last = rows[-1]
    keys = ("SuccessfulCall(C)", "FailedCall(C)", "Retransmissions(C)", "CurrentCall")
    return {k: int(last.get(k, "0") or 0) for k in keys}


async def run(args: Any) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="jono-soak-"))
    (workdir / "pcap").mkdir()
    (workdir / "pcap" / "g711a.pcap").symlink_to(PCAP)
    agent_ports = [port() for _ in range(args.agents)]
    talker_port, http_port, sip_port = port(), port(), port()
    config = write_config(workdir, agent_ports, talker_port, http_port, args)
    db = workdir / "jono.db"
    set_admin_password(config, db)  # the API is closed: the benchmark signs in as an admin
    log_path = workdir / "jono.log"
    log = log_path.open("wb")
    nice = ["nice", "-n", str(args.jono_nice)] if args.jono_nice else []
    jono = subprocess.Popen(
        [*nice, *acd_server.PIN_JONO, str(Path(sys.executable).with_name("jono")), "serve",
         str(config), "--listen", f"{HOST}:{sip_port}", "--db", f"sqlite:///{db}",
         "--log-level", "INFO", "--pid-file", str(workdir / "jono.pid")],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    agent_uas = UAS_SCENARIO.replace("TALK_MIN", str(int(args.talk_min * 1000))).replace(
        "TALK_MAX", str(int(args.talk_max * 1000))
    )
    peers = [
        sipp(workdir, agent_uas, "agent", agent, ["-rtp_echo"]) for agent in agent_ports
    ] + [sipp(workdir, BRIDGED_UAS, "talker", talker_port, ["-rtp_echo"])]
    plays = max(1, int(args.talk / PCAP_SECONDS))
    uac = BRIDGED_UAC.replace("AUDIO", PLAY.format(ms=int(PCAP_SECONDS * 1000)) * plays)
    callers = Callers(sip_port)
    callers.lateness = Histogram()  # type: ignore[assignment]
    series: list[dict[str, Any]] = []
    ticker: list[dict[str, Any]] = []
    try:
        base = f"http://{HOST}:{http_port}"
        async with httpx.AsyncClient(base_url=base, trust_env=False) as c:
            for _ in range(300):
                try:
                    if (await c.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        bearer = {"authorization": f"Bearer {await admin_token(base)}"}
        async with httpx.AsyncClient(base_url=base, trust_env=False, headers=bearer) as c:
            for i in range(args.agents):
                (await c.post(f"/api/agents/agent{i}/state", json={"state": "ready"})).raise_for_status()
        await callers.start()
        rate = args.bridged / (plays * PCAP_SECONDS)
        bridged = sipp(
            workdir, uac, "bridged", port(),
            [f"{HOST}:{sip_port}", "-s", "6000", "-r", f"{rate:.3f}", "-l", str(args.bridged),
             "-trace_stat", "-fd", "10", "-stf", str(workdir / "bridged_stats.csv")],
        )  # fmt: skip
        peers.append(bridged)
        rss_idle = rss_bytes(jono.pid)
        started = time.monotonic()
        cpu0 = cpu_seconds(jono.pid)
        placed = 0
        next_tick = next_call = started
        next_sample = started + 10
        async with httpx.AsyncClient(base_url=base, trust_env=False, headers=bearer) as c:
            while time.monotonic() - started < args.duration:
                now = time.monotonic()
                if now >= next_tick:
                    callers.tick()
                    next_tick += 0.02
                    if next_tick < now:  # we fell behind: do not burst
                        next_tick = now + 0.02
                if now >= next_call and len(callers.active) < args.callers:
                    await callers.place(placed)
                    placed += 1
                    next_call = now + 1.0 / args.rate
                if now >= next_sample:
                    next_sample += 10
                    queues = (await c.get("/api/queues")).json()
                    media = (await c.get("/api/media")).json()
                    series.append({
                        "t": round(now - started, 1), "rss": rss_bytes(jono.pid),
                        "cpu": cpu_seconds(jono.pid) - cpu0, "waited": run_delay(jono.pid),
                        "callers": len(callers.active),
                        "waiting": sum(q["waiting"] for q in queues), "legs": media["legs"],
                    })  # fmt: skip
                    if len(series) % 3 == 0:
                        ticker.append({"t": series[-1]["t"], **media["ticker"]})
                await asyncio.sleep(max(0.0, min(next_tick, next_call) - time.monotonic()))
        callers.hangup_all()
        await asyncio.sleep(3.0)
    finally:
        for proc in peers:
            proc.send_signal(signal.SIGTERM)
        jono.send_signal(signal.SIGTERM)
        try:
            jono.wait(timeout=15)
        except subprocess.TimeoutExpired:
            jono.kill()
        for proc in peers:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
    return report(args, workdir, db, log_path, callers, placed, series, ticker, rss_idle)


def report(args: Any, workdir: Path, db: Path, log_path: Path, callers: Callers, placed: int,
           series: list[dict[str, Any]], ticker: list[dict[str, Any]], rss_idle: int) -> int:  # fmt: skip
    with sqlite3.connect(db) as conn:
        answered = {
            r[0] for r in conn.execute("SELECT call_id FROM queue_events WHERE kind = 'answered'")
        }
    lost = [
        cid
        for cid, rec in callers.calls.items()
        if rec["state"] == "failed" or (rec["ended_by"] == "jono" and cid not in answered)
    ]
    text = log_path.read_text(errors="replace")
    stalls = [float(m) for m in STALL.findall(text)]  # the worst so far, per log line
    so_far = STALLS_SO_FAR.findall(text)  # Jono logs a stall at most every 10 s
    collections = [(int(n), int(ms)) for n, ms in GC_LINE.findall(text)]
    errors = [line for line in text.splitlines() if " error " in line.lower() or "Traceback" in line]
    warm = args.duration / 6
    steady = [(s["t"], s["rss"]) for s in series if s["t"] >= warm]
    duration = series[-1]["t"] if series else 0.0
    cpu_pct = 100 * (series[-1]["cpu"] - series[0]["cpu"]) / (duration - series[0]["t"]) if len(series) > 1 else 0.0
    bridged = sipp_stats(workdir / "bridged_stats.csv")
    lateness: Histogram = callers.lateness  # type: ignore[assignment]
    summary = {
        "duration_s": duration,
        "queue_calls_placed": placed,
        "queue_calls_answered_by_agent": len(answered),
        "queue_calls_lost": len(lost),
        "queue_calls_lost_how": dict(
            Counter(
                f"{callers.calls[c]['state']} {callers.calls[c].get('status', '')}".strip()
                for c in lost
            )
        ),
        "bridged_calls": bridged,
        "callers_in_system_avg": sum(s["callers"] for s in series) / max(len(series), 1),
        "waiting_avg": sum(s["waiting"] for s in series) / max(len(series), 1),
        "jono_cpu_pct": cpu_pct,
        "jono_waited_for_cpu_s": {
            "total": round(series[-1]["waited"] - series[0]["waited"], 2) if series else 0.0,
            "worst_10s": round(max((b["waited"] - a["waited"] for a, b in zip(series, series[1:], strict=False)), default=0.0), 3),
        },
        "rss_idle_mib": rss_idle / 2**20,
        "rss_after_warmup_mib": steady[0][1] / 2**20 if steady else None,
        "rss_end_mib": series[-1]["rss"] / 2**20 if series else None,
        "rss_max_mib": max(s["rss"] for s in series) / 2**20 if series else None,
        "rss_slope_mib_per_hour": slope_mib_per_hour(steady),
        "stalls_over_100ms": int(so_far[-1]) if so_far else 0,
        "worst_stall_ms": max(stalls, default=0.0),
        "ticker_worst_minute": {
            "late_p99_ms": max((t["late_p99_ms"] for t in ticker), default=0.0),
            "late_max_ms": max((t["late_max_ms"] for t in ticker), default=0.0),
            "skipped_ticks": ticker[-1]["skipped_ticks"] if ticker else 0,
        },
        "paced_full_collections": collections,
        "log_errors": len(errors),
        "lateness_at_callers_ms": {
            "packets": lateness.count,
            "p50": lateness.percentile(50),
            "p99": lateness.percentile(99),
            "max": lateness.max * 1000,
        },
    }
    (workdir / "soak.json").write_text(json.dumps({"summary": summary, "series": series,
                                                   "ticker": ticker}, indent=1))  # fmt: skip
    print(f"workdir: {workdir}; jono nice {args.jono_nice}, load average {os.getloadavg()[0]:.2f}")
    for key, value in summary.items():
        print(f"{key}: {value}")
    for line in errors[:10]:
        print("  log:", line[:200])
    ok = not lost and not stalls and not bridged.get("FailedCall(C)", 0)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds")
    parser.add_argument("--callers", type=int, default=500, help="queue callers kept in")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0, help="new queue calls per second")
    parser.add_argument("--bridged", type=int, default=200, help="bridged calls kept up")
    parser.add_argument("--talk", type=float, default=60.0, help="bridged call length, s")
    parser.add_argument("--talk-min", type=float, default=5.0, help="agent talk time, s")
    parser.add_argument("--talk-max", type=float, default=15.0)
    parser.add_argument("--no-pin", action="store_true", help="do not pin Jono to one core")
    parser.add_argument(
        "--jono-nice", type=int, default=-10 if os.geteuid() == 0 else 0,
        help="Jono's nice value (default -10 as root: on a shared machine, other people's "
        "test runs must not preempt the server under test)",
    )  # fmt: skip
    args = parser.parse_args()
    acd_server._pin(not args.no_pin)
    try:
        import uvloop

        return uvloop.run(run(args))
    except ImportError:
        return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
