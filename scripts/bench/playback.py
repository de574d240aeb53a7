#!/usr/bin/env python3
"""Benchmark: N legs playing music on hold from the one shared ticker.

Each leg sends 50 packets/s to a UDP sink in a separate process. Reports the ticker's
lateness (how late each 20 ms wake-up ran), the time one tick over all streams takes,
and the engine's CPU microseconds per packet sent.

    .venv/bin/python scripts/bench/playback.py --streams 100 500 1000 2000 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from media.engine import MediaEngine  # noqa: E402

SINK = """
import socket, sys, threading
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
count = 0
s.settimeout(0.2)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
while not done.is_set():
    try:
        s.recv(2048)
        count += 1
    except TimeoutError:
        pass
print(count, flush=True)
"""


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def run(streams: int, seconds: float) -> dict[str, float]:
    sink = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SINK, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert sink.stdout is not None and sink.stdin is not None
    port = int(await sink.stdout.readline())
    engine = MediaEngine("127.0.0.1", (20000, 60000), dead_after=3600)
    t = np.arange(8000 * 10) / 8000
    engine.add_moh_class("bench", (6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    offer = (
        "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\n"
    ).encode()
    legs = []
    for _ in range(streams):
        leg = await engine.open_leg()
        leg.local_sdp_answer(offer)
        legs.append(leg)
    gc.collect()
    gc.freeze()
    lateness: list[float] = []
    tick_times: list[float] = []
    ticker = engine.ticker
    inner = ticker._tick_slot

    def timed_tick(slot: int) -> None:
        t0 = time.perf_counter()
        inner(slot)
        tick_times.append(time.perf_counter() - t0)

    ticker._tick_slot = timed_tick  # type: ignore[method-assign]
    ticker.on_lateness = lateness.append
    for leg in legs:
        leg.start_moh("bench")
    await asyncio.sleep(0.5)  # warm-up
    lateness.clear()
    tick_times.clear()
    sent0 = sum(leg.stats.packets_sent for leg in legs)
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    sent = sum(leg.stats.packets_sent for leg in legs) - sent0
    skipped = ticker.skipped_ticks
    await engine.close()
    sink.stdin.close()
    received = int(await sink.stdout.readline())
    await sink.wait()
    return {
        "streams": streams,
        "pps": sent / wall,
        "expected_pps": streams * 50,
        "late_p50_ms": percentile(lateness, 50) * 1000,
        "late_p99_ms": percentile(lateness, 99) * 1000,
        "late_max_ms": max(lateness) * 1000 if lateness else float("nan"),
        "tick_p99_ms": percentile(tick_times, 99) * 1000,
        "skipped": skipped,
        "cpu_us_per_pkt": cpu / max(sent, 1) * 1e6,
        "cpu_pct": 100 * cpu / wall,
        "sink_received": received,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--streams", type=int, nargs="+", default=[100, 500, 1000, 2000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.uvloop:
        import uvloop

        uvloop.install()
    loop_name = "uvloop" if args.uvloop else "asyncio"
    print(
        f"playback: {loop_name}, PCMU MOH, {args.seconds:.0f} s per run, CPUs: {os.cpu_count()}, "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'streams':>7} {'pkts/s':>8} {'want':>7} {'late p50':>8} {'late p99':>8} "
        f"{'late max':>8} {'tick p99':>8} {'skipped':>7} {'CPU us/pkt':>10} {'CPU %':>6}"
    )
    for streams in args.streams:
        r = asyncio.run(run(streams, args.seconds))
        print(
            f"{r['streams']:>7} {r['pps']:>8.0f} {r['expected_pps']:>7} "
            f"{r['late_p50_ms']:>8.2f} {r['late_p99_ms']:>8.2f} {r['late_max_ms']:>8.2f} "
            f"{r['tick_p99_ms']:>8.2f} {r['skipped']:>7} {r['cpu_us_per_pkt']:>10.1f} "
            f"{r['cpu_pct']:>6.0f}",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("lateness: how late each 20 ms wake-up ran; tick: time to send one frame per stream")


if __name__ == "__main__":
    main()
