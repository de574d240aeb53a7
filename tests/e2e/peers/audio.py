"""Test tones: write a sine WAV, find what frequency a recording carries."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 8000


def write_tone(
    path: Path, frequency: float, seconds: float, *, rate: int = RATE, amplitude: float = 0.5
) -> Path:
    """A sine tone as 16-bit mono PCM WAV (8 kHz by default)."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def read_wav(path: Path) -> tuple[npt.NDArray[np.float64], int]:
    """Samples as floats in [-1, 1] (first channel) and the sample rate."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        channels = wav.getnchannels()
        width = wav.getsampwidth()
        raw = wav.readframes(wav.getnframes())
    if width != 2:
        raise ValueError(f"{path}: {width * 8}-bit WAV, expected 16-bit")
    data = np.frombuffer(raw, dtype="<i2").reshape(-1, channels)[:, 0]
    return data.astype(np.float64) / 32768.0, rate


def dominant_frequency(path: Path, *, skip_s: float = 0.5) -> float:
    """The strongest frequency (Hz) in the WAV after its first ``skip_s`` seconds.

    Returns 0.0 for silence or a file too short to tell.
    """
    samples, rate = read_wav(path)
    samples = samples[int(skip_s * rate) :]
    if len(samples) < rate // 10 or float(np.max(np.abs(samples), initial=0.0)) < 1e-3:
        return 0.0
    windowed = (samples - samples.mean()) * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(windowed))
    freqs = np.fft.rfftfreq(len(windowed), 1.0 / rate)
    return float(freqs[int(np.argmax(spectrum))])


def rms(path: Path, *, skip_s: float = 0.5) -> float:
    """Root-mean-square level in [0, 1] after ``skip_s`` seconds."""
    samples, rate = read_wav(path)
    samples = samples[int(skip_s * rate) :]
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0


def correlation(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Peak normalised cross-correlation of two signals, in [0, 1].

    1.0 means ``b`` is ``a`` (possibly delayed and scaled); unrelated noise
    gives values near 0. Lengths may differ.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    x = x - x.mean()
    y = y - y.mean()
    norm = float(np.linalg.norm(x) * np.linalg.norm(y))
    if norm == 0.0:
        return 0.0
    size = len(x) + len(y) - 1
    n = 1 << (size - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(y, n)), n)
    return float(np.max(np.abs(xc)) / norm)


def wav_correlation(a: Path, b: Path, *, skip_s: float = 0.5) -> float:
    """:func:`correlation` of two WAV files at the same rate, after ``skip_s``."""
    xa, ra = read_wav(a)
    xb, rb = read_wav(b)
    if ra != rb:
        raise ValueError(f"sample rates differ: {ra} vs {rb}")
    return correlation(xa[int(skip_s * ra) :], xb[int(skip_s * rb) :])
