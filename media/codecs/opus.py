"""Opus (RFC 6716, RTP payload RFC 7587) at the engine's 8 kHz mono, through libopus.

libopus encodes and decodes natively at 8 kHz (its API takes 8, 12, 16, 24
and 48 kHz), so no resampling is needed on either side: a 20 ms frame is
160 samples here, while the RTP clock of Opus is always 48 kHz (RFC 7587
§4.1: 960 timestamp units per 20 ms), which :meth:`OpusCodec.timestamp_units`
says.  The library is the one bundled in PyAV's wheel (``av.libs``), else the
system's ``libopus.so.0``; ctypes calls cost about a microsecond each.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from typing import ClassVar

import numpy as np

from media.codecs.base import FRAME_SAMPLES, SAMPLE_RATE, Codec, Pcm

OPUS_APPLICATION_VOIP = 2048
OPUS_SET_BITRATE_REQUEST = 4002
OPUS_SET_COMPLEXITY_REQUEST = 4010
MAX_FRAME_SAMPLES = SAMPLE_RATE * 120 // 1000  # the longest Opus packet: 120 ms
MAX_PACKET = 1500
BITRATE = 24000  # narrowband speech with room for loss; browsers adapt their own


class OpusUnavailable(RuntimeError):
    """No libopus to load (PyAV's wheel bundles one; Debian: apt-get install libopus0)."""


_lib: ctypes.CDLL | None = None


def _load() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    candidates: list[str] = []
    try:
        import av

        libs = os.path.join(os.path.dirname(os.path.dirname(av.__file__)), "av.libs")
        candidates += sorted(glob.glob(os.path.join(libs, "libopus*.so*")))
    except ImportError:
        pass
    system = ctypes.util.find_library("opus")
    if system:
        candidates.append(system)
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        lib.opus_encoder_create.restype = ctypes.c_void_p
        lib.opus_encoder_create.argtypes = [
            ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.argtypes = [
            ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_encode.restype = ctypes.c_int32
        lib.opus_encode.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int32]
        lib.opus_decode.restype = ctypes.c_int
        lib.opus_decode.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int,
            ctypes.c_int]
        lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        _lib = lib
        return lib
    raise OpusUnavailable(
        "libopus not found: it comes with PyAV's wheel (pip install av) or Debian's libopus0"
    )


class OpusCodec(Codec):
    """One encoder and one decoder state (Opus is stateful): one instance per direction."""

    name: ClassVar[str] = "OPUS"
    payload_type: ClassVar[int] = 111  # dynamic; what browsers offer first
    clock_rate: ClassVar[int] = 48000

    def __init__(self, bitrate: int = BITRATE) -> None:
        lib = _load()
        self._lib = lib
        error = ctypes.c_int(0)
        self._enc = lib.opus_encoder_create(SAMPLE_RATE, 1, OPUS_APPLICATION_VOIP,
                                            ctypes.byref(error))
        if not self._enc or error.value != 0:
            raise OpusUnavailable(f"opus_encoder_create failed: {error.value}")
        lib.opus_encoder_ctl(ctypes.c_void_p(self._enc), OPUS_SET_BITRATE_REQUEST,
                             ctypes.c_int32(bitrate))
        # Complexity 5 of 10: half the encoding time for speech at 8 kHz, no audible loss.
        lib.opus_encoder_ctl(ctypes.c_void_p(self._enc), OPUS_SET_COMPLEXITY_REQUEST,
                             ctypes.c_int32(5))
        self._dec = lib.opus_decoder_create(SAMPLE_RATE, 1, ctypes.byref(error))
        if not self._dec or error.value != 0:
            raise OpusUnavailable(f"opus_decoder_create failed: {error.value}")
        self._out = ctypes.create_string_buffer(MAX_PACKET)
        self._pcm = np.zeros(MAX_FRAME_SAMPLES, dtype=np.int16)

    def encode(self, pcm: Pcm) -> bytes:
        """One 20 ms frame (160 samples at 8 kHz) to one Opus packet."""
        frame = np.ascontiguousarray(pcm, dtype=np.int16)
        if frame.shape[0] != FRAME_SAMPLES:
            frame = np.resize(frame, FRAME_SAMPLES)
        size = self._lib.opus_encode(self._enc, frame.ctypes.data, FRAME_SAMPLES, self._out,
                                     MAX_PACKET)
        if size < 0:
            return b""
        return self._out.raw[:size]

    def decode(self, payload: bytes) -> Pcm:
        """One Opus packet to 8 kHz PCM (160 samples for 20 ms); empty on a bad packet.
        An empty payload asks for packet-loss concealment of one 20 ms frame."""
        data = payload if payload else None
        samples = self._lib.opus_decode(self._dec, data, len(payload), self._pcm.ctypes.data,
                                        MAX_FRAME_SAMPLES if data else FRAME_SAMPLES, 0)
        if samples <= 0:
            return np.zeros(0, dtype=np.int16)
        return self._pcm[:samples].copy()

    def timestamp_units(self, payload_len: int) -> int:
        return FRAME_SAMPLES * (self.clock_rate // SAMPLE_RATE)

    def __del__(self) -> None:
        lib = getattr(self, "_lib", None)
        if lib is None:
            return
        if getattr(self, "_enc", None):
            lib.opus_encoder_destroy(self._enc)
            self._enc = None
        if getattr(self, "_dec", None):
            lib.opus_decoder_destroy(self._dec)
            self._dec = None
