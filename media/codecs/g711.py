"""G.711 u-law (PCMU) and A-law (PCMA) with numpy lookup tables (ITU-T G.711).

Encoding indexes a 65536-entry table by the int16 sample's bit pattern; decoding
indexes a 256-entry table. Transcoding between the two laws is a bytes.translate.
"""

from __future__ import annotations

import numpy as np

from media.codecs.base import Codec, Pcm

_BITLEN = np.array([int(i).bit_length() for i in range(256)], dtype=np.int32)


def _all_samples() -> np.ndarray:
    # Index i is the uint16 bit pattern of an int16 sample.
    return np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int32)


def _build_ulaw_encode() -> np.ndarray:
    # G.711 u-law: bias 0x84, clip at 32635, 3-bit segment, 4-bit mantissa, all bits inverted.
    x = _all_samples()
    sign = np.where(x < 0, 0x80, 0)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    exponent = _BITLEN[mag >> 7] - 1
    mantissa = (mag >> (exponent + 3)) & 0x0F
    table: np.ndarray = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    return table


def _build_alaw_encode() -> np.ndarray:
    # G.711 A-law: 13-bit magnitude, segment from the bit length, even bits toggled (0x55).
    v = _all_samples() >> 3
    negative = v < 0
    mask = np.where(negative, 0x55, 0xD5)
    v = np.where(negative, -v - 1, v)
    segment = _BITLEN[v >> 5]
    mantissa = np.where(segment < 2, (v >> 1) & 0x0F, (v >> np.maximum(segment, 1)) & 0x0F)
    table: np.ndarray = (((segment << 4) | mantissa) ^ mask).astype(np.uint8)
    return table


def _ulaw_decode_one(code: int) -> int:
    u = ~code & 0xFF
    exponent = (u >> 4) & 0x07
    sample = ((((u & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return -sample if u & 0x80 else sample


def _alaw_decode_one(code: int) -> int:
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    segment = (a & 0x70) >> 4
    if segment == 0:
        t += 8
    else:
        t = (t + 0x108) << (segment - 1)
    return t if a & 0x80 else -t


ULAW_ENCODE = _build_ulaw_encode()
ALAW_ENCODE = _build_alaw_encode()
ULAW_DECODE = np.array([_ulaw_decode_one(i) for i in range(256)], dtype=np.int16)
ALAW_DECODE = np.array([_alaw_decode_one(i) for i in range(256)], dtype=np.int16)
ULAW_TO_ALAW = ALAW_ENCODE[ULAW_DECODE.view(np.uint16)].tobytes()
ALAW_TO_ULAW = ULAW_ENCODE[ALAW_DECODE.view(np.uint16)].tobytes()


class PcmuCodec(Codec):
    name = "PCMU"
    payload_type = 0

    def encode(self, pcm: Pcm) -> bytes:
        return ULAW_ENCODE[np.ascontiguousarray(pcm, dtype=np.int16).view(np.uint16)].tobytes()

    def decode(self, payload: bytes) -> Pcm:
        return ULAW_DECODE[np.frombuffer(payload, dtype=np.uint8)]


class PcmaCodec(Codec):
    name = "PCMA"
    payload_type = 8

    def encode(self, pcm: Pcm) -> bytes:
        return ALAW_ENCODE[np.ascontiguousarray(pcm, dtype=np.int16).view(np.uint16)].tobytes()

    def decode(self, payload: bytes) -> Pcm:
        return ALAW_DECODE[np.frombuffer(payload, dtype=np.uint8)]


def translate_table(src: str, dst: str) -> bytes | None:
    """A bytes.translate table converting one G.711 law to the other, or None."""
    if src == "PCMU" and dst == "PCMA":
        return ULAW_TO_ALAW
    if src == "PCMA" and dst == "PCMU":
        return ALAW_TO_ULAW
    return None
