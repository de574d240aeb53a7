#!/usr/bin/env python3
"""Benchmark: N bridged calls relayed by the media engine.

An external C process (rtp_tool.c, compiled with gcc at run time) plays 2*N phones on
127.0.0.1, each sending 50 packets/s to its leg, and measures loss and latency of
what the engine relays to the peer phone. The engine's CPU time is divided by the
packets it received to give CPU microseconds per relayed packet.

    .venv/bin/python scripts/bench/rtp_relay.py --calls 50 100 200 400 --seconds 10
    .venv/bin/python scripts/bench/rtp_relay.py --uvloop --transcode ...

Prints a table and the highest N with zero loss and p99 added latency < 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from media.engine import MediaEngine  # noqa: E402

HERE = Path(__file__).resolve().parent


def build_tool() -> Path:
    out = Path(tempfile.gettempdir()) / f"jono_rtp_tool_{os.getuid()}"
    src = HERE / "rtp_tool.c"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-o", str(out), str(src)], check=True)
    return out


def offer(port: int, pt: int) -> bytes:
    return (
        "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP {pt} 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    ).encode()


async def run(
    calls: int, seconds: float, tool: Path, transcode: bool, freeze: bool
) -> dict[str, float]:
    engine = MediaEngine("127.0.0.1", (20000, 60000), dead_after=3600)
    proc = await asyncio.create_subprocess_exec(
        str(tool),
        str(calls),
        str(seconds),
        "8" if transcode else "0",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    ports = [int(p) for p in (await proc.stdout.readline()).split()[1:]]
    legs = []
    for i in range(calls):
        a, b = await engine.open_leg(), await engine.open_leg()
        a.local_sdp_answer(offer(ports[2 * i], 0))
        b.local_sdp_answer(offer(ports[2 * i + 1], 8 if transcode else 0))
        engine.bridge(a, b)
        legs += [a, b]
    if freeze:
        # Objects alive after start-up never need another look by the cyclic GC; a full
        # collection over them stalls the loop for tens of ms (see the report).
        gc.collect()
        gc.freeze()
    proc.stdin.write(("LEGS " + " ".join(str(leg.local_port) for leg in legs) + "\n").encode())
    await proc.stdin.drain()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    line = await proc.stdout.readline()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await proc.wait()
    fields = dict(kv.split("=") for kv in line.decode().split()[1:])
    relayed = sum(leg.stats.packets_received for leg in legs)
    await engine.close()
    return {
        "calls": calls,
        "pps": relayed / seconds,
        "sent": int(fields["sent"]),
        "lost": int(fields["lost"]),
        "p50_ms": int(fields["p50_us"]) / 1000,
        "p99_ms": int(fields["p99_us"]) / 1000,
        "max_ms": int(fields["max_us"]) / 1000,
        "cpu_us_per_pkt": cpu / max(relayed, 1) * 1e6,
        "cpu_pct": 100 * cpu / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--calls", type=int, nargs="+", default=[25, 50, 100, 200, 300, 400])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--no-gc-freeze", action="store_true", help="skip gc.freeze()")
    parser.add_argument("--transcode", action="store_true", help="PCMU <-> PCMA")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tool = build_tool()
    if args.uvloop:
        import uvloop

        uvloop.install()
    loop_name = "uvloop" if args.uvloop else "asyncio"
    mode = "PCMU<->PCMA" if args.transcode else "PCMU"
    mode += "" if args.no_gc_freeze else ", gc.freeze()"
    print(
        f"rtp_relay: {loop_name}, {mode}, {args.seconds:.0f} s per run, CPUs: {os.cpu_count()}, "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'calls':>6} {'pkts/s':>8} {'sent':>8} {'lost':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'CPU us/pkt':>10} {'CPU %':>6}"
    )
    print(header)
    best = 0
    for calls in args.calls:
        r = asyncio.run(run(calls, args.seconds, tool, args.transcode, not args.no_gc_freeze))
        print(
            f"{r['calls']:>6} {r['pps']:>8.0f} {r['sent']:>8} {r['lost']:>6} "
            f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['max_ms']:>7.2f} "
            f"{r['cpu_us_per_pkt']:>10.1f} {r['cpu_pct']:>6.0f}",
            flush=True,
        )
        if r["lost"] == 0 and r["p99_ms"] < 5.0:
            best = max(best, calls)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"highest N with 0 loss and p99 < 5 ms: {best}")


if __name__ == "__main__":
    main()
