"""A browser stand-in for tests and benchmarks: aiortc's RTCPeerConnection on 127.0.0.1.

It sends a tone (or silence) as Opus and records what it receives, so a test
can check both directions by frequency.  aioice leaves loopback out of its
host candidates; :func:`loopback_only` makes it gather 127.0.0.1 alone (the
tests never send to any other address).
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import aioice.ice
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from av import AudioFrame

RATE = 48000
SAMPLES = 960  # 20 ms


def loopback_only() -> None:
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]


class ToneTrack(MediaStreamTrack):
    """20 ms frames of a sine tone, paced by the clock like a microphone.

    ``marks``: when set, every frame whose index is a multiple of 50 carries a
    click (a short loud burst) and its send time is kept, to measure latency."""

    kind = "audio"

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._index = 0
        self._start: float | None = None
        self.sent_at: list[float] = []
        self.clicks = False

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index * 0.02
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(SAMPLES) + self._index * SAMPLES) / RATE
        samples = self.amplitude * np.sin(2 * np.pi * self.frequency * t)
        if self.clicks:
            # A quiet tone, and once a second a loud burst whose send time is kept.
            samples *= 0.1 / max(self.amplitude, 1e-9)
            if self._index % 50 == 10:
                samples = samples + 0.8 * np.sin(2 * np.pi * 1000 * t)
                self.sent_at.append(time.monotonic())
        frame = AudioFrame.from_ndarray(
            (samples * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._index * SAMPLES
        frame.time_base = fractions.Fraction(1, RATE)
        self._index += 1
        return frame


class Browser:
    """One peer connection that offers (like SIP.js calling) or answers."""

    def __init__(self, frequency: float = 440.0, *, keep: bool = True) -> None:
        loopback_only()
        self.keep = keep
        self.pc = RTCPeerConnection()
        self.track = ToneTrack(frequency)
        self.pc.addTrack(self.track)
        self.received: list[np.ndarray] = []
        self.on_frame: Callable[[np.ndarray], None] | None = None
        self._reader: asyncio.Task[None] | None = None

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._reader = asyncio.ensure_future(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                pcm = frame.to_ndarray().reshape(-1)[:: len(frame.layout.channels)]
                if self.keep:
                    self.received.append(pcm)
                if self.on_frame is not None:
                    self.on_frame(pcm)
        except Exception:
            return

    async def offer(self) -> bytes:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp.encode()

    async def accept(self, answer: bytes) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer.decode(), "answer"))

    async def answer(self, offer: bytes) -> bytes:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer.decode(), "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp.encode()

    def heard(self, skip_frames: int = 25) -> np.ndarray:
        """What arrived, 48 kHz mono, after the first ``skip_frames`` frames."""
        frames = self.received[skip_frames:]
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.pc.close()


def dominant_frequency(pcm: np.ndarray, rate: int) -> float:
    if len(pcm) < rate // 10:
        return 0.0
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[np.argmax(spectrum)])
