#!/usr/bin/env python3
"""Benchmark: what recording a call costs (issue 14, O7).

1. On the event loop: a recorded leg decodes each packet it receives and sends
   and the shared ticker writes one 20 ms frame per tick (media/recorder.py).
   Measured per leg and tick, for G.711 u-law and G.722, beside the decode
   alone (what a transcoding relay pays anyway).
2. Off the loop: joining the WAV and compressing it to Ogg/Opus when the call
   ends (acd/calls/recording.py), per minute of call; bytes kept per minute.

Medians of ``--repeat`` runs.

    .venv/bin/python scripts/bench/recording.py --legs 200 --seconds 5 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from media.audio_files import encode_opus  # noqa: E402
from media.codecs import FRAME_SAMPLES, SAMPLE_RATE, create_codec  # noqa: E402
from media.recorder import Recorder  # noqa: E402


def voice_like(seconds: float, seed: int) -> np.ndarray:
    """A tone with noise and pauses: closer to speech than a pure tone for Opus."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    signal = 6000 * np.sin(2 * np.pi * 440 * t) + rng.normal(0, 1500, t.size)
    envelope = (np.sin(2 * np.pi * 0.7 * t) > -0.3).astype(float)
    return np.asarray(np.clip(signal * envelope, -32768, 32767), dtype=np.int16)


def payloads(codec_name: str, seconds: float) -> list[bytes]:
    codec = create_codec(codec_name)
    pcm = voice_like(seconds, 1)
    frames = len(pcm) // FRAME_SAMPLES
    return [codec.encode(pcm[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES]) for i in range(frames)]


def loop_cost(codec_name: str, legs: int, seconds: float, *, record: bool) -> float:
    """µs of CPU per leg per 20 ms tick."""
    packets = payloads(codec_name, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        if record:
            recorders = [Recorder(f"{tmp}/{i}.wav", codec_name) for i in range(legs)]
            started = time.process_time()
            for payload in packets:
                for rec in recorders:
                    rec.received(payload)
                    rec.sent(payload)
                    rec.tick()
            spent = time.process_time() - started
            for rec in recorders:
                rec.close()
        else:
            decoders = [(create_codec(codec_name), create_codec(codec_name)) for _ in range(legs)]
            started = time.process_time()
            for payload in packets:
                for rx, tx in decoders:
                    rx.decode(payload)
                    tx.decode(payload)
            spent = time.process_time() - started
    return spent / (len(packets) * legs) * 1e6


def compress_cost(seconds: float) -> tuple[float, int]:
    """CPU seconds to compress ``seconds`` of call to Ogg/Opus, and its bytes."""
    pcm = voice_like(seconds, 2)
    started = time.process_time()
    data = encode_opus(pcm)
    return time.process_time() - started, len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--legs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print("| codec | decode only µs/leg/tick | recorded µs/leg/tick | ratio | "
          "recorded calls per core (100% CPU) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for codec in ("pcmu", "g722"):
        plain, recorded = [], []
        for _ in range(args.repeat):  # side by side: one of each per round
            plain.append(loop_cost(codec, args.legs, args.seconds, record=False))
            recorded.append(loop_cost(codec, args.legs, args.seconds, record=True))
        p, r = statistics.median(plain), statistics.median(recorded)
        print(f"| {codec} | {p:.1f} | {r:.1f} | {r / p:.2f} | {int(20_000 / r)} |")

    print()
    print("| call length | compress CPU s (median) | CPU s per call minute | "
          "Ogg/Opus bytes per minute | 16-bit WAV bytes per minute | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for length in (60.0, 600.0):
        runs = [compress_cost(length) for _ in range(args.repeat)]
        cpu = statistics.median(c for c, _ in runs)
        size = runs[0][1]
        per_minute = size * 60 / length
        wav = SAMPLE_RATE * 2 * 60
        print(f"| {int(length)} s | {cpu:.3f} | {cpu * 60 / length:.3f} | {int(per_minute)} | "
              f"{wav} | {wav / per_minute:.0f}x |")


if __name__ == "__main__":
    main()
