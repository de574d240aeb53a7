"""Codec registry by encoding name (as in SDP rtpmap) and static payload type."""

from __future__ import annotations

from media.codecs.base import FRAME_SAMPLES, SAMPLE_RATE, Codec, Pcm
from media.codecs.g711 import PcmaCodec, PcmuCodec, translate_table
from media.codecs.g722 import G722Codec

CODECS: dict[str, type[Codec]] = {c.name: c for c in (PcmuCodec, PcmaCodec, G722Codec)}
STATIC_PT: dict[int, str] = {c.payload_type: c.name for c in CODECS.values()}


def create_codec(name: str) -> Codec:
    """A new codec instance for an SDP encoding name (case-insensitive)."""
    try:
        return CODECS[name.upper()]()
    except KeyError:
        raise KeyError(f"unsupported codec {name!r}") from None


def codec_for_pt(payload_type: int) -> Codec:
    return create_codec(STATIC_PT[payload_type])


__all__ = [
    "CODECS",
    "FRAME_SAMPLES",
    "SAMPLE_RATE",
    "STATIC_PT",
    "Codec",
    "G722Codec",
    "Pcm",
    "PcmaCodec",
    "PcmuCodec",
    "codec_for_pt",
    "create_codec",
    "translate_table",
]
