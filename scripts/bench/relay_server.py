#!/usr/bin/env python3
"""One relay under test, in its own process, for scripts/bench/rtp_relay.py.

    relay_server.py KIND NCALLS [PT_B] [NG_PORT]
        KIND: jono, general, minimal, floor, jono-rtpengine

Reads "PORTS p0 p1 ..." (the phones of rtp_tool) on stdin, opens two legs per call,
prints "LEGS l0 l1 ..." (the port each phone must send to), relays until a line
"STOP" arrives, then prints "STATS {json}" (what the relay counted) and exits.

- jono:    Jono's MediaEngine, bridged legs (the fast path takes the packets).
- general: the same with MediaEngine(fast_path=False): every packet takes the general
           path (RtpPacket, ReceiveStats.update, StreamRewriter.relay, ...).
- minimal: the smallest useful Python relay: a uvloop DatagramProtocol per leg that
           rewrites SSRC/sequence/timestamp with fixed offsets and sendto()s the peer.
           No statistics, no latching, no checks.
- floor:   the same work on connected raw sockets read with add_reader (recv/send):
           the floor of a Python relay on this event loop, for comparison.
- jono-rtpengine: Jono's RtpengineEngine on the rtpengine at 127.0.0.1:NG_PORT: two
           legs per call bridged direct inside rtpengine (two rtpengine hops).
PT_B is the payload type phone B of each call speaks (0 PCMU, 8 PCMA: transcoding).
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import struct
import sys
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from media.engine import MediaEngine  # noqa: E402

HOST = "127.0.0.1"
HEADER = struct.Struct("!BBHII")
SEQ_TS_SSRC = struct.Struct("!HII")


def offer(port: int, pt: int) -> bytes:
    return (
        f"v=0\r\no=bench 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP {pt} 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    ).encode()


async def stdin_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def run_jono(calls: int, phones: list[int], fast: bool, pt_b: int) -> dict[str, object]:
    engine = MediaEngine(HOST, (20000, 60000), dead_after=3600, fast_path=fast)
    legs = []
    for i in range(calls):
        a, b = await engine.open_leg(), await engine.open_leg()
        a.local_sdp_answer(offer(phones[2 * i], 0))
        b.local_sdp_answer(offer(phones[2 * i + 1], pt_b))
        engine.bridge(a, b)
        legs += [a, b]
    gc.collect()
    gc.freeze()
    print("LEGS " + " ".join(str(leg.local_port) for leg in legs), flush=True)
    # Which path the legs take, sampled every 0.5 s while the phones talk (at the end
    # the phones are silent and the sweep has released their sockets).
    paths: dict[str, int] = {}

    async def sample() -> None:
        while True:
            await asyncio.sleep(0.5)
            now: dict[str, int] = {}
            for leg in legs:
                now[leg.receive_path] = now.get(leg.receive_path, 0) + 1
            if now.get("general", 0) < len(legs) and now.get("relay", 0) >= paths.get("relay", 0):
                paths.clear()
                paths.update(now)

    sampler = asyncio.get_running_loop().create_task(sample())
    await stdin_line()
    sampler.cancel()
    stats = [leg.stats for leg in legs]
    result = {
        "received": sum(s.packets_received for s in stats),
        "sent": sum(s.packets_sent for s in stats),
        "lost": sum(s.packets_lost for s in stats),
        "jitter_ms_max": max((s.jitter_ms for s in stats), default=0.0),
        "paths": paths,
    }
    await engine.close()
    return result


class MinimalLeg(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.peer: asyncio.DatagramTransport | None = None
        self.peer_addr: tuple[str, int] | None = None
        self.ssrc = 0x1234ABCD

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP unreachable once the phones have stopped

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        seq, ts, _ = SEQ_TS_SSRC.unpack_from(data, 2)
        packet = (
            HEADER.pack(0x80, data[1], (seq + 1000) & 0xFFFF, (ts + 160000) & 0xFFFFFFFF, self.ssrc)
            + data[12:]
        )
        assert self.peer is not None
        self.peer.sendto(packet, self.peer_addr)


async def run_minimal(calls: int, phones: list[int]) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    legs: list[tuple[asyncio.DatagramTransport, MinimalLeg]] = []
    for _ in range(2 * calls):
        transport, protocol = await loop.create_datagram_endpoint(
            MinimalLeg, local_addr=(HOST, 0)
        )
        legs.append((transport, protocol))
    for i, (_, protocol) in enumerate(legs):
        protocol.peer = legs[i ^ 1][0]
        protocol.peer_addr = (HOST, phones[i ^ 1])
    print("LEGS " + " ".join(str(t.get_extra_info("sockname")[1]) for t, _ in legs), flush=True)
    await stdin_line()
    for transport, _ in legs:
        transport.close()
    return {}


async def run_floor(calls: int, phones: list[int]) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    socks = []
    for i in range(2 * calls):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        sock.setblocking(False)
        sock.connect((HOST, phones[i]))
        socks.append(sock)

    def relay(recv: object, send: object) -> None:
        try:
            data = recv(2048)  # type: ignore[operator]
            seq, ts, _ = SEQ_TS_SSRC.unpack_from(data, 2)
            send(  # type: ignore[operator]
                HEADER.pack(0x80, data[1], (seq + 1000) & 0xFFFF, (ts + 160000) & 0xFFFFFFFF, 7)
                + data[12:]
            )
        except OSError:  # nothing to read, or ICMP unreachable after the phones stop
            return

    for i, sock in enumerate(socks):
        loop.add_reader(sock.fileno(), relay, sock.recv, socks[i ^ 1].send)
    print("LEGS " + " ".join(str(s.getsockname()[1]) for s in socks), flush=True)
    await stdin_line()
    for sock in socks:
        loop.remove_reader(sock.fileno())
        sock.close()
    return {}


async def run_jono_rtpengine(calls: int, phones: list[int], ng_port: int) -> dict[str, object]:
    from media.rtpengine.engine import RtpengineEngine

    local = MediaEngine(HOST, (20000, 30000), dead_after=3600)
    engine = await RtpengineEngine.connect(HOST, ng_port, local, check_interval=3600)
    legs = []
    for i in range(calls):
        a, b = await engine.open_leg(), await engine.open_leg()
        await a.answer_offer(offer(phones[2 * i], 0))
        await b.answer_offer(offer(phones[2 * i + 1], 0))
        engine.bridge(a, b)
        legs += [a, b]
    await engine.settle()
    direct = sum(leg.direct for leg in legs)
    gc.collect()
    gc.freeze()
    print("LEGS " + " ".join(str(leg.local_port) for leg in legs), flush=True)
    await stdin_line()
    stats = [await leg.refresh_stats() for leg in legs]
    result = {
        "received": sum(s.packets_received for s in stats),
        "sent": sum(s.packets_sent for s in stats),
        "direct": direct,
    }
    await engine.close()
    return result


async def main() -> None:
    kind, calls = sys.argv[1], int(sys.argv[2])
    pt_b = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    phones = [int(p) for p in (await stdin_line()).split()[1:]]
    if kind in ("jono", "general"):
        result = await run_jono(calls, phones, fast=kind == "jono", pt_b=pt_b)
    elif kind == "jono-rtpengine":
        result = await run_jono_rtpengine(calls, phones, int(sys.argv[4]))
    elif kind == "minimal":
        result = await run_minimal(calls, phones)
    elif kind == "floor":
        result = await run_floor(calls, phones)
    else:
        raise SystemExit(f"unknown relay {kind!r}")
    print("STATS " + json.dumps(result), flush=True)


if __name__ == "__main__":
    uvloop.run(main())
