"""Relay pieces: the per-leg output stream rewriter and the transcoder.

Each leg sends ONE RTP stream (one SSRC, continuous sequence numbers and timestamps)
whatever feeds it: a prompt, music on hold, the echo, or the bridged peer's audio.
RFC 3550 5.1: the sequence number increments by one per packet and the timestamp by the
sampling instants covered; when the source switches we rebase the new source onto our
stream, set the marker bit (RFC 3551 4.1: first packet after a discontinuity), and keep
the new source's own gaps and reordering by mapping with a fixed offset.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable

from media.codecs import Codec, translate_table
from media.rtp import seq_diff, ts_diff

LOCAL = "local"


class StreamRewriter:
    """The outgoing stream of one leg: SSRC, next sequence number, next timestamp."""

    __slots__ = ("ssrc", "seq", "ts", "source", "seq_offset", "ts_offset")

    def __init__(self, ssrc: int | None = None, seq: int | None = None, ts: int | None = None):
        # RFC 3550 5.1: SSRC, initial sequence number and timestamp SHOULD be random.
        self.ssrc = ssrc if ssrc is not None else random.getrandbits(32)
        self.seq = seq if seq is not None else random.getrandbits(15)
        self.ts = ts if ts is not None else random.getrandbits(31)
        self.source: Hashable = None
        self.seq_offset = 0
        self.ts_offset = 0

    def next_local(self, samples: int = 160) -> tuple[int, int, bool]:
        """(seq, ts, marker) for a frame we generate (prompt, hold music, tone)."""
        marker = self.source != LOCAL
        self.source = LOCAL
        seq, ts = self.seq, self.ts
        self.seq = (seq + 1) & 0xFFFF
        self.ts = (ts + samples) & 0xFFFFFFFF
        return seq, ts, marker

    def relay(self, source: Hashable, seq: int, ts: int, samples: int) -> tuple[int, int, bool]:
        """(seq, ts, marker) for a relayed packet from `source` with its own seq/ts."""
        marker = False
        if source != self.source:
            self.source = source
            self.seq_offset = (self.seq - seq) & 0xFFFF
            self.ts_offset = (self.ts - ts) & 0xFFFFFFFF
            marker = True
        out_seq = (seq + self.seq_offset) & 0xFFFF
        out_ts = (ts + self.ts_offset) & 0xFFFFFFFF
        if seq_diff(out_seq, self.seq) >= 0:
            self.seq = (out_seq + 1) & 0xFFFF
        end_ts = (out_ts + samples) & 0xFFFFFFFF
        if ts_diff(end_ts, self.ts) > 0:
            self.ts = end_ts
        return out_seq, out_ts, marker


Transcode = Callable[[bytes], bytes]


def _identity(payload: bytes) -> bytes:
    return payload


def make_transcoder(src: Codec, dst: Codec) -> Transcode:
    """A payload converter from src's encoding to dst's. G.711 law to law is a byte
    table; anything else goes through 8 kHz PCM with the (stateful) codec instances."""
    if src.name == dst.name:
        return _identity
    table = translate_table(src.name, dst.name)
    if table is not None:
        return lambda payload: payload.translate(table)

    def transcode(payload: bytes) -> bytes:
        return dst.encode(src.decode(payload))

    return transcode
