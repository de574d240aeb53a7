"""G.722 through PyAV's (FFmpeg's) ADPCM codec.

RFC 3551 4.5.2: G.722 samples at 16 kHz but its RTP clock rate is 8000 "for historical
reasons", so a 20 ms frame is 160 bytes and advances the timestamp by 160.
The engine works at 8 kHz; we upsample by linear interpolation before encoding and
decimate (2-tap average) after decoding.
"""

from __future__ import annotations

import av
import numpy as np

from media.codecs.base import Codec, Pcm

AUDIO_RATE = 16000


def upsample(pcm: Pcm) -> Pcm:
    x = pcm.astype(np.int32)
    nxt = np.append(x[1:], x[-1:]) if len(x) else x
    out = np.empty(2 * len(x), dtype=np.int32)
    out[0::2] = x
    out[1::2] = (x + nxt) // 2
    return out.astype(np.int16)


def downsample(pcm: Pcm) -> Pcm:
    x = pcm.astype(np.int32)
    if len(x) % 2:
        x = np.append(x, x[-1:])
    return ((x[0::2] + x[1::2]) // 2).astype(np.int16)


class G722Codec(Codec):
    name = "G722"
    payload_type = 9

    def __init__(self) -> None:
        self._encoder = av.CodecContext.create("g722", "w")
        self._encoder.sample_rate = AUDIO_RATE
        self._encoder.layout = "mono"
        self._encoder.format = "s16"
        self._decoder = av.CodecContext.create("g722", "r")
        self._decoder.sample_rate = AUDIO_RATE
        self._decoder.layout = "mono"
        self._pts = 0

    def encode(self, pcm: Pcm) -> bytes:
        wide = upsample(np.asarray(pcm, dtype=np.int16))
        frame = av.AudioFrame.from_ndarray(wide.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._pts
        self._pts += len(wide)
        return b"".join(bytes(p) for p in self._encoder.encode(frame))

    def decode(self, payload: bytes) -> Pcm:
        parts = [f.to_ndarray().reshape(-1) for f in self._decoder.decode(av.Packet(payload))]
        if not parts:
            return np.zeros(len(payload), dtype=np.int16)
        return downsample(np.concatenate(parts).astype(np.int16))
