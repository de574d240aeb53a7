#!/usr/bin/env python3
"""Benchmark: N callers hearing music on hold, engines side by side in one run.

For every N, each engine in --engines plays a looping PCMU music stream to N legs,
pinned to core 0; a C sink (rtp_tool.c in sink mode) on core 1 receives all N streams
and measures, per packet, how late it arrived against its stream's best 20 ms pace.

    jono          Jono's ticker (4 slots 5 ms apart)     scripts/bench/playback_server.py
    jono-1phase   Jono's ticker with one slot
    minimal       a minimal Python ticker (pack a header, next cached frame, sendto)
    rtpengine     rtpengine's own player ("play media" of a WAV file, repeated) -
                  the alternative to Jono's ticker when rtpengine is the media plane
    jono-rtpengine  Jono's ticker through rtpengine (RtpengineEngine: the callers face
                  rtpengine, which relays the music Jono's ticker sends it); the CPU
                  is Jono's plus rtpengine's

Reported: packets/s received, the engine's wake-up lateness (Python engines) and
tick time, skipped ticks, lateness at the receiver (p50/p99/max), frames never
received (gaps), and the engine's CPU per packet and % of its core.

    .venv/bin/python scripts/bench/playback.py --streams 1500 3000 4000 --seconds 8
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
import wave
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from procstat import cpu_seconds  # noqa: E402
from rtp_relay import NICE, Rtpengine, build_tool, pin  # noqa: E402

from media.rtpengine.ng import NgClient  # noqa: E402

HOST = "127.0.0.1"
ENGINES = ("jono", "jono-1phase", "minimal", "rtpengine", "jono-rtpengine")


def write_music(path: Path) -> None:
    t = np.arange(8000 * 10) / 8000
    pcm = (6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(pcm.tobytes())


async def rtpengine_players(ng: NgClient, streams: int, sink: int, music: Path) -> None:
    """A call per stream (the sink is the caller), and rtpengine playing the file to it."""
    for i in range(streams):
        call = {"call-id": f"moh-{streams}-{i}", "from-tag": "caller"}
        caller = (
            f"v=0\r\no=sink 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
            f"m=audio {sink} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        ).encode()
        jono = caller.replace(f"m=audio {sink}".encode(), b"m=audio 9")
        await ng.request("offer", {**call, "sdp": caller})
        await ng.request("answer", {**call, "to-tag": "jono", "sdp": jono})
        await ng.request("play media", {**call, "file": str(music), "repeat-times": 1000})


async def run_one(engine: str, streams: int, args: Any, tool: Path, workdir: Path) -> dict[str, Any]:
    engine_core, sink_core = (0, 1) if args.pin else (None, None)
    sink = await asyncio.create_subprocess_exec(
        *pin(sink_core), str(tool), "sink", str(args.seconds),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert sink.stdout is not None
    sink_port = int((await sink.stdout.readline()).split()[1])
    daemon = ng = server = None
    stats: dict[str, Any] = {}
    pids: list[int] = []
    try:
        if engine in ("rtpengine", "jono-rtpengine"):
            daemon = Rtpengine(engine_core, workdir)
            ng = await daemon.client()
            pids.append(daemon.proc.pid)
        if engine == "rtpengine":
            assert ng is not None
            music = workdir / "music.wav"
            write_music(music)
            await rtpengine_players(ng, streams, sink_port, music)
        else:
            extra = [str(daemon.ng_port)] if daemon is not None else []
            server = await asyncio.create_subprocess_exec(
                *pin(engine_core), sys.executable, str(HERE / "playback_server.py"), engine,
                str(streams), str(sink_port), *extra,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            )  # fmt: skip
            assert server.stdout is not None
            await server.stdout.readline()  # READY
            pids.append(server.pid)
        cpu0, wall0 = [cpu_seconds(pid) for pid in pids], time.perf_counter()
        result_line = (await sink.stdout.readline()).decode()
        split = [cpu_seconds(pid) - c for pid, c in zip(pids, cpu0, strict=True)]
        cpu, wall = sum(split), time.perf_counter() - wall0
        await sink.wait()
        if server is not None:
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write(b"STOP\n")
            await server.stdin.drain()
            stats = json.loads((await server.stdout.readline()).decode().split(" ", 1)[1])
            await server.wait()
    finally:
        if ng is not None:
            ng.close()
        if daemon is not None:
            daemon.stop()
    fields = dict(kv.split("=") for kv in result_line.split()[1:])
    received = int(fields["received"])
    return {
        "engine": engine,
        "streams": streams,
        "pps": received / args.seconds,
        "seen": int(fields["streams"]),
        "gaps": int(fields["gaps"]),
        "late_p50": int(fields["late_p50_us"]) / 1000,
        "late_p99": int(fields["late_p99_us"]) / 1000,
        "late_max": int(fields["late_max_us"]) / 1000,
        "wake_p99": stats.get("late_ms", {}).get("p99", float("nan")),
        "wake_max": stats.get("late_ms", {}).get("max", float("nan")),
        "tick_p99": stats.get("tick_ms", {}).get("p99", float("nan")),
        "skipped": stats.get("skipped", "-"),
        "cpu_us": cpu / max(received, 1) * 1e6,
        "cpu_pct": 100 * cpu / wall,
        "cpu_split": split,
    }


async def main_async(args: Any) -> None:
    tool = build_tool()
    workdir = Path(tempfile.mkdtemp(prefix="jono-playback-bench-"))
    print(
        f"playback: PCMU music on hold, {args.seconds:.0f} s per run, engines "
        f"{', '.join(args.engines)}, {'pinned: engine core 0, sink core 1' if args.pin else 'not pinned'}"
        f", nice {args.nice}, load average before {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'engine':>12} {'streams':>7} {'pkts/s':>7} {'gaps':>5} {'wake p99':>8} {'wake max':>8} "
        f"{'tick p99':>8} {'skip':>4} {'rx late p50':>11} {'p99':>6} {'max':>6} "
        f"{'CPU us/pkt':>10} {'CPU %':>5}"
    )
    for streams in args.streams:
        for engine in args.engines:
            r = await run_one(engine, streams, args, tool, workdir)
            print(
                f"{engine:>12} {streams:>7} {r['pps']:>7.0f} {r['gaps']:>5} {r['wake_p99']:>8.2f} "
                f"{r['wake_max']:>8.2f} {r['tick_p99']:>8.2f} {r['skipped']!s:>4} "
                f"{r['late_p50']:>11.2f} {r['late_p99']:>6.2f} {r['late_max']:>6.2f} "
                f"{r['cpu_us']:>10.2f} {r['cpu_pct']:>5.0f}"
                + (f"  (rtpengine {r['cpu_split'][0]:.1f} s + Jono {r['cpu_split'][1]:.1f} s)"
                   if len(r["cpu_split"]) > 1 else ""),
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("wake: how late the engine's 20 ms (or 5 ms slot) timer fired; tick: one slot's sends;")
    print("rx late: arrival at the sink against the stream's best pace; gaps: frames not received")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--streams", type=int, nargs="+", default=[1500, 3000])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--engines", nargs="+", default=["jono", "minimal"], choices=ENGINES)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument(
        "--nice", type=int, default=-10 if os.geteuid() == 0 else 0,
        help="nice value of the engine and the sink (default -10 as root, see rtp_relay.py)",
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
