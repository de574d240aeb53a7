"""Test helpers: a minimal RTP phone on 127.0.0.1, tones, their frequency, and the
engine and phone fixtures' bodies (used by test_engine_loopback and test_fastpath)."""

from __future__ import annotations

import asyncio

import numpy as np

from media.codecs import create_codec
from media.rtp import RtpPacket, pack_rtp, parse_rtp, seq_diff, ts_diff

HOST = "127.0.0.1"


def tone(freq: float, frames: int) -> np.ndarray:
    t = np.arange(frames * 160) / 8000
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant_frequency(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / 8000)[np.argmax(spectrum)])


class Phone(asyncio.DatagramProtocol):
    """A minimal RTP peer: records what it receives, sends what it is told."""

    def __init__(self) -> None:
        self.received: list[RtpPacket] = []
        self.sources: list[tuple[str, int]] = []
        self.transport: asyncio.DatagramTransport | None = None
        self._changed = asyncio.Event()
        self.ssrc = 0x5EED
        self.seq = 40000
        self.ts = 123456

    @classmethod
    async def open(cls) -> Phone:
        loop = asyncio.get_running_loop()
        phone = cls()
        await loop.create_datagram_endpoint(lambda: phone, local_addr=(HOST, 0))
        return phone

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        if 192 <= data[1] <= 223:
            return  # RFC 5761 4: RTCP (rtpengine sends reports to the RTP port + 1 too)
        self.received.append(parse_rtp(data))
        self.sources.append(addr)
        self._changed.set()

    def offer(self, formats: str = "0 101", direction: str = "sendrecv") -> bytes:
        return (
            f"v=0\r\no=phone 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
            f"m=audio {self.port} RTP/AVP {formats}\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=rtpmap:96 telephone-event/8000\r\n"
            f"a={direction}\r\n"
        ).encode()

    def send_rtp(
        self,
        port: int,
        pt: int,
        payload: bytes,
        *,
        marker: bool = False,
        ts: int | None = None,
        advance: bool = True,
    ) -> None:
        assert self.transport is not None
        data = pack_rtp(pt, self.seq, self.ts if ts is None else ts, self.ssrc, payload, marker)
        self.transport.sendto(data, (HOST, port))
        self.seq = (self.seq + 1) & 0xFFFF
        if advance:
            self.ts += len(payload)

    def send_pcm(self, port: int, pcm: np.ndarray, codec_name: str = "PCMU") -> None:
        codec = create_codec(codec_name)
        for frame in np.split(pcm, len(pcm) // 160):
            self.send_rtp(port, codec.payload_type, codec.encode(frame))

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[RtpPacket]:
        async def until() -> None:
            while len(self.received) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
        return self.received

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def assert_one_continuous_stream(packets: list[RtpPacket]) -> None:
    assert len({p.ssrc for p in packets}) == 1
    for a, b in zip(packets, packets[1:], strict=False):
        assert (seq_diff(b.sequence, a.sequence), ts_diff(b.timestamp, a.timestamp)) == (1, 160)
