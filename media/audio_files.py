"""Compressed audio for keeping: call recordings and voicemail in Ogg/Opus.

Recordings are made as 8 kHz 16-bit WAV while a call lasts (media.recorder)
and compressed once it is over, off the event loop: Opus at 16 kbit/s in an
Ogg container (RFC 7845) keeps telephone speech at about 2 kB per second,
an eighth of the WAV. PyAV (FFmpeg's libopus) does the work; decoding
reads anything PyAV reads and resamples to 8 kHz mono like the prompts.

Pure functions on bytes and arrays; no I/O beyond what the caller passes in.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np

from media.codecs import Pcm

OGG_OPUS = "audio/ogg; codecs=opus"
SAMPLE_RATE = 8000
BIT_RATE = 16000
_CHUNK = 960  # samples per frame handed to the encoder (120 ms at 8 kHz)


class AudioFileError(Exception):
    """Audio that cannot be decoded or encoded."""


def encode_opus(pcm: Pcm, *, rate: int = SAMPLE_RATE, bit_rate: int = BIT_RATE) -> bytes:
    """8 kHz (or ``rate``) mono int16 PCM -> an Ogg/Opus file's bytes."""
    samples = np.asarray(pcm, dtype=np.int16).reshape(-1)
    out_buffer = io.BytesIO()
    try:
        with av.open(out_buffer, "w", format="ogg") as container:
            stream = container.add_stream("libopus", rate=rate, layout="mono")
            stream.bit_rate = bit_rate
            for start in range(0, len(samples), _CHUNK):
                chunk = samples[start : start + _CHUNK]
                frame = av.AudioFrame.from_ndarray(
                    chunk.reshape(1, -1), format="s16", layout="mono"
                )
                frame.sample_rate = rate
                frame.pts = start
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    except av.FFmpegError as exc:
        raise AudioFileError(f"cannot encode Opus: {exc}") from exc
    return out_buffer.getvalue()


def decode_audio(data: bytes, *, rate: int = SAMPLE_RATE) -> Pcm:
    """Any audio file's bytes (Ogg/Opus, WAV, ...) -> mono int16 PCM at ``rate``."""
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.audio:
                raise AudioFileError("no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            chunks: list[Pcm] = []
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(_pcm(resampler.resample(frame)))
            chunks.extend(_pcm(resampler.resample(None)))
    except av.FFmpegError as exc:
        raise AudioFileError(f"cannot decode audio: {exc}") from exc
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def _pcm(frames: Iterable[av.AudioFrame]) -> list[Pcm]:
    return [np.asarray(f.to_ndarray(), dtype=np.int16).reshape(-1) for f in frames]


def read_wavs(paths: Iterable[Path]) -> Pcm:
    """The 16-bit mono WAV files media.recorder wrote, one after the other."""
    parts: list[Pcm] = []
    for path in paths:
        try:
            with wave.open(str(path), "rb") as wav:
                raw = wav.readframes(wav.getnframes())
                channels = wav.getnchannels()
        except (OSError, EOFError, wave.Error) as exc:
            raise AudioFileError(f"{path}: {exc}") from exc
        data = np.frombuffer(raw, dtype="<i2")
        parts.append(data.reshape(-1, channels).mean(axis=1).astype(np.int16) if channels > 1
                     else data.astype(np.int16))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
