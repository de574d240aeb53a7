#!/usr/bin/env python3
"""Benchmark: N bridged calls relayed, several relays side by side in one run.

An external C program (rtp_tool.c, compiled with gcc at run time) plays 2*N phones on
127.0.0.1, each sending 50 packets/s to its leg, and measures loss and the latency
the relay adds to what it relays to the peer phone. For every N, each relay in
--relays runs in turn (same tool, same N, minutes apart at most):

    jono             Jono's MediaEngine (fast path)           scripts/bench/relay_server.py
    general          Jono's MediaEngine, fast_path=False      (every packet: general path)
    minimal          a minimal Python relay (DatagramProtocol, SSRC/seq/ts rewrite)
    floor            the same on connected raw sockets (the floor of Python here)
    rtpengine        rtpengine in user space, one call per bridged pair (one hop)
    jono-rtpengine   Jono's RtpengineEngine: two legs per call bridged direct inside
                     rtpengine (two hops; Jono only signals)

With --pin (default on 2+ cores) the relay - all its threads - runs on core 0 and the
phones on core 1: "per core" means per core. CPU per packet is the relay's CPU time
(user + system, from /proc) over the packets the phones received during the run.

    .venv/bin/python scripts/bench/rtp_relay.py --calls 400 800 1200 --seconds 8
    .venv/bin/python scripts/bench/rtp_relay.py --relays jono general --transcode ...

Prints one row per (N, relay) and, per relay, the highest N with zero loss and p99
added latency under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from procstat import cpu_seconds  # noqa: E402

from media.rtpengine.ng import NgClient, sdp_of  # noqa: E402
from media.sdp import audio_address  # noqa: E402

HOST = "127.0.0.1"
RELAYS = ("jono", "general", "minimal", "floor", "rtpengine", "jono-rtpengine")
RTPENGINE = ("rtpengine", "/opt/rtpengine/usr/bin/rtpengine")


def build_tool() -> Path:
    out = Path(tempfile.gettempdir()) / f"jono_rtp_tool_{os.getuid()}"
    src = HERE / "rtp_tool.c"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-o", str(out), str(src)], check=True)
    return out


NICE: list[str] = []  # --nice: ["nice", "-n", "-10"]


def pin(core: int | None) -> list[str]:
    return [*NICE, *(["taskset", "-c", str(core)] if core is not None else [])]


class Rtpengine:
    """rtpengine-daemon in user space (no kernel table) on loopback, one per run."""

    def __init__(self, core: int | None, workdir: Path) -> None:
        binary = next((b for b in RTPENGINE if shutil.which(b) or Path(b).exists()), None)
        if binary is None:
            raise SystemExit("rtpengine not found: run scripts/install_test_tools as root")
        self.ng_port = 22223
        self.log = (workdir / "rtpengine.log").open("wb")
        self.proc = subprocess.Popen(
            [*pin(core), binary, "--foreground", "--log-stderr", "--table=-1",
             f"--interface={HOST}", f"--listen-ng={HOST}:{self.ng_port}",
             "--port-min=30000", "--port-max=65000", "--log-level=4", "--delete-delay=0",
             "--timeout=3600"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def client(self) -> NgClient:
        for _ in range(100):
            ng = await NgClient.connect(HOST, self.ng_port, timeout=0.1, attempts=1)
            try:
                await ng.ping()
                ng.timeout, ng.attempts = 2.0, 3
                return ng
            except Exception:
                ng.close()
                await asyncio.sleep(0.1)
        raise SystemExit("rtpengine does not answer ping")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def _phone_sdp(port: int) -> bytes:
    return (
        f"v=0\r\no=bench 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    ).encode()


async def rtpengine_calls(ng: NgClient, phones: list[int], run_id: str) -> list[int]:
    """One rtpengine call per pair, as a SIP proxy would set it up: phone A offers,
    phone B answers. Returns the port each phone sends to."""
    legs = [0] * len(phones)
    for i in range(len(phones) // 2):
        call = {"call-id": f"{run_id}-{i}", "from-tag": "a"}
        to_b = sdp_of(await ng.request("offer", {**call, "sdp": _phone_sdp(phones[2 * i])}))
        to_a = sdp_of(
            await ng.request(
                "answer", {**call, "to-tag": "b", "sdp": _phone_sdp(phones[2 * i + 1])}
            )
        )
        legs[2 * i] = (audio_address(to_a) or (HOST, 0))[1]
        legs[2 * i + 1] = (audio_address(to_b) or (HOST, 0))[1]
    return legs


async def run_one(relay: str, calls: int, args: Any, tool: Path, workdir: Path) -> dict[str, Any]:
    relay_core, phone_core = (0, 1) if args.pin else (None, None)
    pt_b = "8" if args.transcode else "0"
    tool_proc = await asyncio.create_subprocess_exec(
        *pin(phone_core), str(tool), str(calls), str(args.seconds), pt_b,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert tool_proc.stdout is not None and tool_proc.stdin is not None
    ports_line = await tool_proc.stdout.readline()
    phones = [int(p) for p in ports_line.split()[1:]]
    daemon = ng = server = None
    pids: list[int] = []
    try:
        if relay in ("rtpengine", "jono-rtpengine"):
            daemon = Rtpengine(relay_core, workdir)
            ng = await daemon.client()
            pids.append(daemon.proc.pid)
        if relay == "rtpengine":
            assert ng is not None
            legs_line = "LEGS " + " ".join(
                map(str, await rtpengine_calls(ng, phones, f"bench{calls}"))
            )
        else:
            extra = [str(daemon.ng_port)] if daemon is not None else []
            server = await asyncio.create_subprocess_exec(
                *pin(relay_core), sys.executable, str(HERE / "relay_server.py"), relay,
                str(calls), pt_b, *extra, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            )  # fmt: skip
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write(ports_line)
            await server.stdin.drain()
            legs_line = (await server.stdout.readline()).decode()
            pids.append(server.pid)
        spy = None
        if args.py_spy and server is not None:
            Path(args.py_spy).mkdir(parents=True, exist_ok=True)  # py-spy fails silently
            # Sampling costs the relay a little CPU: profile runs are not figure runs.
            spy = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(server.pid),
                "-r", "250", "-f", "raw", "--nonblocking", "--idle", "-d", str(int(args.seconds)),
                "-o", str(Path(args.py_spy) / f"{relay}-{calls}.folded"),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        perf = None
        if args.perf:
            Path(args.perf).mkdir(parents=True, exist_ok=True)
            # Kernel, interpreter, event loop, libc: where the relay's CPU goes (cpu-clock
            # is a software event: it works where hardware counters are not exposed).
            perf = await asyncio.create_subprocess_exec(
                "perf", "record", "-e", "cpu-clock", "-F", "999", "-p", str(pids[0]),
                "-o", str(Path(args.perf) / f"{relay}-{calls}.data"), "--", "sleep",
                str(int(args.seconds)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        cpu0 = [cpu_seconds(pid) for pid in pids]
        wall0 = time.perf_counter()
        tool_proc.stdin.write(legs_line.encode().rstrip(b"\n") + b"\n")
        await tool_proc.stdin.drain()
        result_line = (await tool_proc.stdout.readline()).decode()
        wall = time.perf_counter() - wall0
        cpu = [cpu_seconds(pid) - c for pid, c in zip(pids, cpu0, strict=True)]
        await tool_proc.wait()
        if spy is not None:
            await spy.wait()
        if perf is not None:
            await perf.wait()
        counted: dict[str, Any] = {}
        if server is not None:
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write(b"STOP\n")
            await server.stdin.drain()
            stats_line = (await server.stdout.readline()).decode()
            counted = json.loads(stats_line.split(" ", 1)[1]) if stats_line else {}
            await server.wait()
    finally:
        if ng is not None:
            ng.close()
        if daemon is not None:
            daemon.stop()
    fields = dict(kv.split("=") for kv in result_line.split()[1:])
    received = int(fields["received"])
    return {
        "relay": relay,
        "calls": calls,
        "pps": received / args.seconds,
        "sent": int(fields["sent"]),
        "lost": int(fields["lost"]),
        "p50_ms": int(fields["p50_us"]) / 1000,
        "p99_ms": int(fields["p99_us"]) / 1000,
        "max_ms": int(fields["max_us"]) / 1000,
        "cpu_us_per_pkt": sum(cpu) / max(received, 1) * 1e6,
        "cpu_pct": 100 * sum(cpu) / wall,
        "cpu_split": cpu,
        "counted": counted,
    }


def check_counted(r: dict[str, Any]) -> str:
    """Do the relay's own figures (the call records' media columns) match the phones?"""
    counted = r["counted"]
    if "received" not in counted:
        return "-"
    ok = counted["received"] == r["sent"] and counted["sent"] == r["sent"] - r["lost"]
    if "lost" in counted:
        ok = ok and counted["lost"] == 0
    extra = f" paths={counted['paths']}" if "paths" in counted else ""
    extra += f" direct={counted['direct']}" if "direct" in counted else ""
    return ("ok" if ok else f"MISMATCH {counted}") + extra


async def main_async(args: Any) -> None:
    tool = build_tool()
    workdir = Path(tempfile.mkdtemp(prefix="jono-relay-bench-"))
    print(
        f"rtp_relay: {args.seconds:.0f} s per run, {'PCMU<->PCMA' if args.transcode else 'PCMU'}"
        f", relays {', '.join(args.relays)}, {'pinned: relay core 0, phones core 1' if args.pin else 'not pinned'}"
        f", nice {args.nice}, CPUs {os.cpu_count()}, load average before {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'relay':>15} {'calls':>6} {'pkts/s':>8} {'lost':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'CPU us/pkt':>10} {'CPU %':>6}  figures"
    )
    best: dict[str, int] = {}
    for calls in args.calls:
        for relay in args.relays:
            r = await run_one(relay, calls, args, tool, workdir)
            split = "+".join(f"{c:.1f}" for c in r["cpu_split"]) if len(r["cpu_split"]) > 1 else ""
            print(
                f"{relay:>15} {calls:>6} {r['pps']:>8.0f} {r['lost']:>6} {r['p50_ms']:>7.2f} "
                f"{r['p99_ms']:>7.2f} {r['max_ms']:>7.2f} {r['cpu_us_per_pkt']:>10.2f} "
                f"{r['cpu_pct']:>6.0f}  {check_counted(r)}{' cpu s ' + split if split else ''}",
                flush=True,
            )
            if r["lost"] == 0 and r["p99_ms"] < 5.0:
                best[relay] = max(best.get(relay, 0), calls)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for relay in args.relays:
        print(f"highest N with 0 loss and p99 < 5 ms, {relay}: {best.get(relay, 0)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--calls", type=int, nargs="+", default=[400, 800, 1200])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--relays", nargs="+", default=["jono", "minimal", "rtpengine"],
                        choices=RELAYS)  # fmt: skip
    parser.add_argument("--transcode", action="store_true", help="phone B speaks PCMA")
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--py-spy", metavar="DIR", help="profile the Python relays into DIR")
    parser.add_argument("--perf", metavar="DIR", help="perf record (cpu-clock) each relay into DIR")
    parser.add_argument(
        "--nice", type=int, default=-10 if os.geteuid() == 0 else 0,
        help="nice value of the relay and the phones (default -10 as root: other people's "
        "test runs on a shared machine must not preempt what is measured)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.nice:
        NICE[:] = ["nice", "-n", str(args.nice)]
    args.pin = args.pin and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
