"""Recorder: one leg's audio to a 16-bit 8 kHz WAV file, started and stopped on demand.

'in' is what the phone sends us, 'out' is what we send it, 'both' is both: mixed to
mono, or stereo (in left, out right). Packets are decoded as they pass and the shared
ticker writes one 20 ms frame per direction per tick (silence where nothing arrived),
which keeps the two directions aligned in time.
"""

from __future__ import annotations

import wave
from collections import deque
from typing import Literal

import numpy as np

from media.codecs import FRAME_SAMPLES, SAMPLE_RATE, Pcm, create_codec

MAX_BACKLOG = 10  # frames per direction; older audio is dropped after a stall
# A received frame whose peak passes this (about -36 dBFS) counts as voice, for
# callers of a mailbox who stop talking (silence ends the message).
VOICE_PEAK = 520


class Recorder:
    def __init__(
        self,
        path: str,
        codec_name: str,
        *,
        which: Literal["both", "in", "out"] = "both",
        stereo: bool = False,
    ) -> None:
        if which not in ("both", "in", "out"):
            raise ValueError(f"which={which!r} must be 'both', 'in' or 'out'")
        self.path = path
        self.which = which
        self.stereo = stereo and which == "both"
        self._in_codec = create_codec(codec_name)
        self._out_codec = create_codec(codec_name)
        self._in: deque[Pcm] = deque(maxlen=MAX_BACKLOG)
        self._out: deque[Pcm] = deque(maxlen=MAX_BACKLOG)
        self._wav = wave.open(path, "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(2 if self.stereo else 1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)
        self.frames_written = 0
        self.voiced_frames = 0  # received frames louder than VOICE_PEAK
        self.last_voice_frame = 0  # frames_written after the last of them
        self.closed = False

    def received(self, payload: bytes) -> None:
        if self.which != "out":
            self._in.append(self._in_codec.decode(payload))

    def sent(self, payload: bytes) -> None:
        if self.which != "in":
            self._out.append(self._out_codec.decode(payload))

    @staticmethod
    def _take(buffer: deque[Pcm]) -> np.ndarray:
        frame = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        if buffer:
            pcm = buffer.popleft()[:FRAME_SAMPLES]
            frame[: len(pcm)] = pcm
        return frame

    def tick(self) -> bool:
        if self.closed:
            return False
        rx = self._take(self._in)
        tx = self._take(self._out)
        if int(np.abs(rx).max()) > VOICE_PEAK:
            self.voiced_frames += 1
            self.last_voice_frame = self.frames_written + 1
        if self.stereo:
            data = np.empty(2 * FRAME_SAMPLES, dtype=np.int16)
            data[0::2] = rx
            data[1::2] = tx
        elif self.which == "in":
            data = rx.astype(np.int16)
        elif self.which == "out":
            data = tx.astype(np.int16)
        else:
            data = np.clip(rx + tx, -32768, 32767).astype(np.int16)
        # writeframesraw: writeframes would seek back and rewrite the header on
        # every 20 ms frame; close() writes the final lengths once.
        self._wav.writeframesraw(data.tobytes())
        self.frames_written += 1
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._wav.close()
