#!/usr/bin/env python3
"""WebRTC legs under load: browser (aiortc) <-> Jono's media engine <-> RTP phone.

Two processes. The *server* is Jono's MediaEngine alone (no SIP: its cost is
measured by sip_calls.py): per call one WebRTC leg answering the browser's
offer, bridged to one plain RTP leg facing a phone. The *driver* (this
script's main) runs N browsers as aiortc RTCPeerConnections (Opus, or G.711
with ``--pcmu``) and N RTP phones (UDP sockets on 127.0.0.1, G.711 u-law,
one shared 20 ms ticker), and talks to the server over its stdin/stdout.

Each browser sends a quiet 440 Hz tone with a loud burst once a second; the
phone side notes when each burst arrives, so the *added one-way latency
browser -> RTP phone* is (arrival at the phone) - (the moment the browser's
track produced the frame), both read from the driver's clock. It includes
aiortc's own Opus encoding and the loopback hops, so it is an upper bound on
what Jono adds. The phones send 1000 Hz back all the time (both directions
carry audio). Server CPU is its CPU time over the measuring window; memory
per leg is its resident-set growth over the N calls.

    flock /tmp/jono-bench.lock .venv/bin/python scripts/bench/webrtc_calls.py --calls 10 20 30 --repeat 3
    flock /tmp/jono-bench.lock .venv/bin/python scripts/bench/webrtc_calls.py --calls 10 20 30 --repeat 3 --pcmu
    flock /tmp/jono-bench.lock .venv/bin/python scripts/bench/webrtc_calls.py --calls 10 20 30 --repeat 3 --uvloop

Each row is the median of --repeat runs (a fresh server each run): the
machine is shared and has two cores, so single runs are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "media"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

HOST = "127.0.0.1"


# ---------------------------------------------------------------------------- server
async def serve(uvloop: bool) -> None:
    from procstat import cpu_seconds, rss_bytes

    from media.engine import MediaEngine

    engine = MediaEngine(HOST, (36000, 39999), dead_after=600)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    legs: list[Any] = []
    pid = os.getpid()

    def reply(**fields: Any) -> None:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()

    reply(event="ready", uvloop=uvloop)
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        if msg["cmd"] == "open":
            rtc = await engine.open_webrtc_leg()
            rtp = await engine.open_leg()
            answer = rtc.local_sdp_answer(msg["offer"].encode())
            phone_offer = (
                f"v=0\r\no=phone 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
                f"m=audio {msg['phone_port']} RTP/AVP 0\r\na=sendrecv\r\n"
            ).encode()
            rtp.local_sdp_answer(phone_offer)
            engine.bridge(rtc, rtp)
            legs += [rtc, rtp]
            reply(answer=answer.decode(), rtp_port=rtp.local_port)
        elif msg["cmd"] == "stats":
            connected = sum(1 for leg in legs if getattr(leg, "kind", "") == "webrtc"
                            and leg.rtc.connected)
            reply(cpu=cpu_seconds(pid), rss=rss_bytes(pid), connected=connected)
        elif msg["cmd"] == "close":
            for leg in legs:
                leg.close()
            legs.clear()
            await asyncio.sleep(0.5)
            reply(closed=True)
        elif msg["cmd"] == "quit":
            break
    await engine.close()


# ---------------------------------------------------------------------------- driver
class Phones(asyncio.DatagramProtocol):
    """N RTP phones on one socket each; one ticker sends 20 ms of 1000 Hz to every call."""

    def __init__(self) -> None:
        self.arrivals: dict[int, list[float]] = {}
        self.loud: dict[int, bool] = {}
        self.received = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:  # pragma: no cover
        pass


class Phone(asyncio.DatagramProtocol):
    def __init__(self, index: int, ulaw_table: np.ndarray) -> None:
        self.index = index
        self.table = ulaw_table
        self.transport: asyncio.DatagramTransport | None = None
        self.arrivals: list[float] = []
        self.loud = False
        self.packets = 0
        self.remote: tuple[str, int] | None = None
        self.seq = 0
        self.ts = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.packets += 1
        payload = np.frombuffer(data[12:], dtype=np.uint8)
        peak = int(np.max(np.abs(self.table[payload]))) if len(payload) else 0
        if peak > 14000:
            if not self.loud:
                self.arrivals.append(time.monotonic())
            self.loud = True
        elif peak < 6000:
            self.loud = False


def ulaw_decode_table() -> np.ndarray:
    from media.codecs import create_codec

    codec = create_codec("PCMU")
    return codec.decode(bytes(range(256))).astype(np.int32)


async def drive(args: argparse.Namespace, calls: int) -> dict[str, Any]:
    from webrtc_peer import Browser

    from media.codecs import create_codec
    from media.rtp import pack_rtp

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", *(["--uvloop"] if args.uvloop else []),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
    )
    assert server.stdin is not None and server.stdout is not None

    async def ask(**msg: Any) -> dict[str, Any]:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write((json.dumps(msg) + "\n").encode())
        await server.stdin.drain()
        raw = await server.stdout.readline()
        try:
            return dict(json.loads(raw))
        except ValueError:
            raise RuntimeError(f"server said {raw!r} to {msg}") from None

    json.loads(await server.stdout.readline())  # ready
    loop = asyncio.get_running_loop()
    table = ulaw_decode_table()
    pcmu = create_codec("PCMU")
    t = np.arange(160) / 8000
    frame = pcmu.encode((0.3 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16))
    base = await ask(cmd="stats")
    browsers: list[Browser] = []
    phones: list[Phone] = []
    for index in range(calls):
        phone = Phone(index, table)
        await loop.create_datagram_endpoint(lambda p=phone: p, local_addr=(HOST, 0))
        assert phone.transport is not None
        port = phone.transport.get_extra_info("sockname")[1]
        browser = Browser(440.0, keep=False)
        browser.track.clicks = True
        if args.pcmu:
            for transceiver in browser.pc.getTransceivers():
                caps = [c for c in __import__("aiortc").RTCRtpSender.getCapabilities("audio").codecs
                        if c.mimeType == "audio/PCMU"]
                transceiver.setCodecPreferences(caps)
        offer = await browser.offer()
        answer = await ask(cmd="open", offer=offer.decode(), phone_port=port)
        phone.remote = (HOST, answer["rtp_port"])
        await browser.accept(answer["answer"].encode())
        browsers.append(browser)
        phones.append(phone)

    running = True

    async def tick() -> None:
        next_at = loop.time()
        while running:
            for phone in phones:
                if phone.transport is not None and phone.remote is not None:
                    phone.transport.sendto(pack_rtp(0, phone.seq, phone.ts, 0x1000 + phone.index,
                                                    frame), phone.remote)
                    phone.seq = (phone.seq + 1) & 0xFFFF
                    phone.ts = (phone.ts + 160) & 0xFFFFFFFF
            next_at += 0.02
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    ticker = loop.create_task(tick())
    deadline = time.monotonic() + 20
    while (await ask(cmd="stats"))["connected"] < calls and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(args.warmup)
    for browser in browsers:
        browser.track.sent_at.clear()
    for phone in phones:
        phone.arrivals.clear()
    start = await ask(cmd="stats")
    packets_before = sum(p.packets for p in phones)
    began = time.monotonic()
    driver_cpu = time.process_time()
    await asyncio.sleep(args.seconds)
    end = await ask(cmd="stats")
    elapsed = time.monotonic() - began
    driver_cpu = time.process_time() - driver_cpu
    packets = sum(p.packets for p in phones) - packets_before
    running = False
    await ticker
    latencies: list[float] = []
    for browser, phone in zip(browsers, phones, strict=True):
        sent = list(browser.track.sent_at)
        for arrival in phone.arrivals:
            before = [s for s in sent if s <= arrival and arrival - s < 0.5]
            if before:
                latencies.append((arrival - before[-1]) * 1000)
    for browser in browsers:
        await browser.close()
    for phone in phones:
        if phone.transport is not None:
            phone.transport.close()
    await ask(cmd="close")
    server.stdin.write(b'{"cmd": "quit"}\n')
    await server.stdin.drain()
    await server.wait()
    cpu = end["cpu"] - start["cpu"]
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {
        "calls": calls, "connected": end["connected"], "seconds": round(elapsed, 1),
        "cpu_pct": round(100 * cpu / elapsed, 1),
        "cpu_ms_per_call_s": round(1000 * cpu / elapsed / calls, 2),
        "calls_per_core": round(calls / (cpu / elapsed), 0) if cpu else float("inf"),
        "rss_mib_per_call": round((start["rss"] - base["rss"]) / calls / 2**20, 2),
        "phone_pkts_per_s": round(packets / elapsed / calls, 1),
        # The browsers' process: near 100% it, not Jono, limits the packet rate.
        "driver_cpu_pct": round(100 * driver_cpu / elapsed, 1),
        "lat_n": len(latencies), "lat_p50_ms": round(pct(0.5), 1), "lat_p99_ms": round(pct(0.99), 1),
        "lat_max_ms": round(latencies[-1], 1) if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per row; the row shows each column's median")
    parser.add_argument("--pcmu", action="store_true", help="browsers send G.711 (no transcoding)")
    parser.add_argument("--uvloop", action="store_true", help="the server runs on uvloop")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        profile = os.environ.get("JONO_BENCH_PROFILE")
        if profile:  # where the server's time goes: cProfile to that file
            import cProfile

            cProfile.runctx("asyncio.run(serve(False))", globals(), {"serve": serve},
                            filename=profile)
            return
        if args.uvloop:
            import uvloop

            uvloop.run(serve(True))
        else:
            asyncio.run(serve(False))
        return
    codec = "PCMU (no transcoding)" if args.pcmu else "Opus <-> PCMU"
    print(f"browser {codec}, server {'uvloop' if args.uvloop else 'asyncio'}")
    print("| calls | connected | server CPU % | CPU ms per call-second | calls/core | RSS MiB/call "
          "| phone pkts/s/call | driver CPU % | latency n | p50 ms | p99 ms | max ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for calls in args.calls:
        runs = [asyncio.run(drive(args, calls)) for _ in range(args.repeat)]
        r = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(f"| {r['calls']} | {r['connected']} | {r['cpu_pct']} | {r['cpu_ms_per_call_s']} | "
              f"{r['calls_per_core']:.0f} | {r['rss_mib_per_call']} | {r['phone_pkts_per_s']} | "
              f"{r['driver_cpu_pct']} | "
              f"{r['lat_n']} | {r['lat_p50_ms']} | {r['lat_p99_ms']} | {r['lat_max_ms']} |",
              flush=True)


if __name__ == "__main__":
    main()
