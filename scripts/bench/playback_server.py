#!/usr/bin/env python3
"""One playback engine under test, in its own process, for scripts/bench/playback.py.

    playback_server.py KIND STREAMS SINK_PORT [NG_PORT]
        KIND: jono, jono-1phase, minimal, jono-rtpengine

Opens STREAMS legs whose RTP goes to 127.0.0.1:SINK_PORT, starts music on hold on all
of them, prints "READY", plays until a line "STOP" arrives, then prints
"STATS {json}": the ticker's wake-up lateness, how long one tick (one slot) took,
skipped ticks and packets sent.

- jono:        Jono's MediaEngine and its ticker (4 slots, 5 ms apart).
- jono-1phase: the same ticker with one slot (every stream at the same wake-up).
- minimal:     the smallest useful ticker: one task, every 20 ms (drift-corrected)
               pack a header, take the next cached frame, sendto() - per stream.
- jono-rtpengine: Jono's RtpengineEngine on the rtpengine at 127.0.0.1:NG_PORT: the
               callers face rtpengine; Jono's ticker sends the music through it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import socket
import struct
import sys
import time
from pathlib import Path

import numpy as np
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from media.codecs import create_codec  # noqa: E402
from media.engine import MediaEngine  # noqa: E402
from media.leg import MediaLeg  # noqa: E402
from media.rtpengine.engine import RtpengineEngine, RtpengineLeg  # noqa: E402
from media.ticker import encode_frames  # noqa: E402

HOST = "127.0.0.1"
HEADER = struct.Struct("!BBHII")


def music() -> np.ndarray:
    t = np.arange(8000 * 10) / 8000
    return (6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)
    return {
        "p50": ordered[len(ordered) // 2] * 1000,
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
        "max": ordered[-1] * 1000,
    }


async def stdin_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def run_jono(
    streams: int, sink: int, phases: int, ng_port: int | None = None
) -> dict[str, object]:
    local = MediaEngine(HOST, (20000, 40000), dead_after=3600, ticker_phases=phases)
    engine: MediaEngine | RtpengineEngine = local
    if ng_port is not None:
        engine = await RtpengineEngine.connect(HOST, ng_port, local, check_interval=3600)
    engine.add_moh_class("bench", music())
    offer = (
        f"v=0\r\no=bench 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
        f"m=audio {sink} RTP/AVP 0\r\n"
    ).encode()
    legs: list[MediaLeg] = []
    for _ in range(streams):
        leg = await engine.open_leg()
        await leg.answer_offer(offer)
        legs.append(leg.inner if isinstance(leg, RtpengineLeg) else leg)
    lateness: list[float] = []
    tick_times: list[float] = []
    ticker = local.ticker
    inner = ticker._tick_slot

    def timed_tick(slot: int) -> None:
        t0 = time.perf_counter()
        inner(slot)
        tick_times.append(time.perf_counter() - t0)

    ticker._tick_slot = timed_tick  # type: ignore[method-assign]
    ticker.on_lateness = lateness.append
    for leg in legs:
        leg.start_moh("bench")
    gc.collect()
    gc.freeze()
    print("READY", flush=True)
    await stdin_line()
    sent = sum(leg.stats.packets_sent for leg in legs)
    result = {
        "sent": sent,
        "late_ms": percentiles(lateness),
        "tick_ms": percentiles(tick_times),
        "skipped": ticker.skipped_ticks,
        "wakeups": ticker.wakeups,
    }
    await engine.close()
    return result


async def run_minimal(streams: int, sink: int) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    frames = encode_frames(music(), create_codec("PCMU"))
    socks, state = [], []
    for _ in range(streams):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        sock.setblocking(False)
        socks.append(sock)
        state.append([random.getrandbits(16), random.getrandbits(32), random.getrandbits(32), 0])
    lateness: list[float] = []
    tick_times: list[float] = []
    stop = asyncio.Event()
    sent = 0

    async def tick_loop() -> None:
        nonlocal sent
        addr = (HOST, sink)
        deadline = loop.time()
        count = len(frames)
        while not stop.is_set():
            lateness.append(loop.time() - deadline)
            t0 = time.perf_counter()
            for sock, s in zip(socks, state, strict=True):
                seq, ts, ssrc, pos = s
                sock.sendto(HEADER.pack(0x80, 0, seq, ts, ssrc) + frames[pos], addr)
                s[0], s[1], s[3] = (seq + 1) & 0xFFFF, (ts + 160) & 0xFFFFFFFF, (pos + 1) % count
            sent += len(socks)
            tick_times.append(time.perf_counter() - t0)
            deadline += 0.02
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    gc.collect()
    gc.freeze()
    task = loop.create_task(tick_loop())
    print("READY", flush=True)
    await stdin_line()
    stop.set()
    await task
    for sock in socks:
        sock.close()
    return {
        "sent": sent,
        "late_ms": percentiles(lateness),
        "tick_ms": percentiles(tick_times),
        "skipped": 0,
    }


async def main() -> None:
    kind, streams, sink = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if kind == "jono":
        result = await run_jono(streams, sink, phases=4)
    elif kind == "jono-1phase":
        result = await run_jono(streams, sink, phases=1)
    elif kind == "minimal":
        result = await run_minimal(streams, sink)
    elif kind == "jono-rtpengine":
        result = await run_jono(streams, sink, phases=4, ng_port=int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown playback engine {kind!r}")
    print("STATS " + json.dumps(result), flush=True)


if __name__ == "__main__":
    uvloop.run(main())
