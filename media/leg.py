"""MediaLeg: one call leg's media (an RtpEndpoint plus what feeds and consumes it).

The receive path is a plain method called from the datagram callback: no task, no
queue. What the leg sends comes from exactly one source at a time: a playback (prompt
or music on hold, driven by the shared ticker), the echo of its own audio, or the
bridged peer's audio; the StreamRewriter keeps it one continuous RTP stream.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, cast

import numpy as np

from media.bridge import StreamRewriter, Transcode, make_transcoder
from media.codecs import FRAME_SAMPLES, Codec, Pcm, create_codec
from media.dtmf import DtmfReceiver, EventPacket, event_packets
from media.endpoint import RtpEndpoint
from media.rtp import LegStats, ReceiveStats, RtpPacket, build_rtcp_report, pack_rtp
from media.sdp import Answer, make_offer, negotiate, parse_answer
from media.ticker import FrameCache, MohSource, Playback, Ticker, encode_frames

if TYPE_CHECKING:
    import asyncio

    from media.recorder import Recorder

log = logging.getLogger(__name__)

SENDING = ("sendrecv", "sendonly")
COMFORT_NOISE_PT = 13  # RFC 3389: ignored


class LegHost(Protocol):
    """What a leg needs of the engine that made it (``media.engine.MediaEngine``):
    named here so that the leg does not import the engine that imports it."""

    host: str
    codecs: tuple[str, ...]
    rtcp_interval: float
    frame_cache: FrameCache

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...
    @property
    def ticker(self) -> Ticker: ...
    def moh(self, name: str) -> MohSource: ...
    def unbridge(self, leg: MediaLeg) -> None: ...
    def _forget(self, leg: MediaLeg) -> None: ...


class MediaLeg:
    def __init__(self, engine: LegHost, endpoint: RtpEndpoint) -> None:
        self.engine = engine
        self.endpoint = endpoint
        self.codec: Codec | None = None
        self.payload_type = -1
        self.telephone_event_pt: int | None = None
        self.direction = "sendrecv"
        self.negotiated: Answer | None = None
        self.out = StreamRewriter()
        self._stats = LegStats()
        self.rx = ReceiveStats()
        self.remote_ssrc: int | None = None
        self.remote_report: object | None = None
        self.dtmf = DtmfReceiver()
        self.on_dtmf: Callable[[str], None] | None = None
        self.on_dead: Callable[[MediaLeg], None] | None = None
        self.peer: MediaLeg | None = None
        self.playback: Playback | None = None
        self.recorder: Recorder | None = None
        self._echo = False
        self._dtmf_out: _DtmfSend | None = None
        self._transcode: Transcode | None = None
        self._session_id = random.getrandbits(62)
        self._sdp_version = 0
        self._offered: tuple[str, ...] = ()
        self.opened_at = engine.loop.time()
        self.dead_reported = False
        self.next_rtcp = self.opened_at + engine.rtcp_interval * random.uniform(0.5, 1.5)
        self.closed = False
        endpoint.on_packet = self._on_packet
        endpoint.on_rtcp = self._on_rtcp

    # ---- signalling ------------------------------------------------------------------

    @property
    def local_port(self) -> int:
        return self.endpoint.port

    def _version(self) -> int:
        # RFC 4566 5.2: the version is increased for each new offer/answer of the session.
        self._sdp_version += 1
        return self._sdp_version

    def local_sdp_answer(self, offer: bytes) -> bytes:
        """Answer a remote offer (initial or re-INVITE). Raises NoCommonCodec (SIP 488)
        or SdpError (SIP 400/488)."""
        answer = negotiate(
            offer,
            self.engine.host,
            self.endpoint.port,
            self.engine.codecs,
            session_id=self._session_id,
            version=self._version(),
        )
        self._apply(answer)
        return answer.sdp

    def make_offer(self, direction: str = "sendrecv") -> bytes:
        """An offer for an outgoing leg (or a re-INVITE, e.g. direction='sendonly' for hold)."""
        self._offered = self.engine.codecs
        return make_offer(
            self.engine.host,
            self.endpoint.port,
            self.engine.codecs,
            direction=direction,
            session_id=self._session_id,
            version=self._version(),
        )

    def apply_answer(self, sdp: bytes) -> Answer:
        """Apply the remote answer to our offer. Raises NoCommonCodec/SdpError."""
        answer = parse_answer(sdp, self._offered or self.engine.codecs)
        self._apply(answer)
        return answer

    def _apply(self, answer: Answer) -> None:
        if self.codec is None or self.codec.name != answer.codec:
            self.codec = create_codec(answer.codec)
        self.payload_type = answer.payload_type
        self.telephone_event_pt = answer.telephone_event_pt
        self.direction = answer.direction
        self.negotiated = answer
        # Dead-leg detection counts from the latest offer/answer (e.g. a resume from hold).
        self.opened_at = self.engine.loop.time()
        self.dead_reported = False
        self.endpoint.set_remote(answer.remote_addr, answer.remote_rtcp_addr)
        if self.peer is not None:
            self._retranscode()
            self.peer._retranscode()

    # ---- receive path ----------------------------------------------------------------

    def _on_packet(self, pkt: RtpPacket) -> None:
        stats = self._stats
        stats.packets_received += 1
        stats.bytes_received += len(pkt.payload)
        self.rx.update(pkt.sequence, pkt.timestamp, self.engine.loop.time())
        self.remote_ssrc = pkt.ssrc
        pt = pkt.payload_type
        if pt == self.payload_type:
            if self.recorder is not None:
                self.recorder.received(pkt.payload)
            if self._echo:
                self._relay_to_self(pkt)
            elif self.peer is not None:
                self.peer._relay_audio(self, pkt)
        elif pt == self.telephone_event_pt and pt is not None:
            for digit in self.dtmf.feed(pkt.timestamp, pkt.payload):
                self._digit(digit)
            if self.peer is not None:
                self.peer._relay_event(self, pkt)
        # anything else (comfort noise, unknown payload types) is dropped

    def inject_dtmf(self, digit: str) -> None:
        """A digit that arrived out of band (SIP INFO dtmf-relay, see parse_dtmf_relay):
        handled like an RFC 4733 digit (interrupts the prompt, calls on_dtmf)."""
        self._digit(digit)

    def _digit(self, digit: str) -> None:
        playback = self.playback
        if playback is not None and playback.interruptible:
            self.stop_playback()
        callback = self.on_dtmf
        if callback is not None:
            try:
                callback(digit)
            except Exception:
                log.exception("on_dtmf callback failed")

    def _on_rtcp(self, packets: list[object]) -> None:
        for packet in packets:
            reports = getattr(packet, "reports", None)
            if reports:
                self.remote_report = reports[0]

    # ---- send path -------------------------------------------------------------------

    def _send(self, pt: int, seq: int, ts: int, marker: bool, payload: bytes) -> None:
        if self.direction not in SENDING:
            return
        if self.endpoint.send(pack_rtp(pt, seq, ts, self.out.ssrc, payload, marker)):
            self._stats.packets_sent += 1
            self._stats.bytes_sent += len(payload)
            if self.recorder is not None and pt == self.payload_type:
                self.recorder.sent(payload)

    def send_frame(self, payload: bytes) -> None:
        """Send one locally generated 20 ms frame (already in this leg's codec)."""
        if self._dtmf_out is not None:
            return  # an outgoing telephone event owns the stream for now
        seq, ts, marker = self.out.next_local(FRAME_SAMPLES)
        self._send(self.payload_type, seq, ts, marker, payload)

    def _relay_audio(self, source: MediaLeg, pkt: RtpPacket) -> None:
        if self.playback is not None or self._echo or self._dtmf_out is not None:
            return  # a prompt, the echo or an outgoing digit owns this leg's output
        transcode = self._transcode
        payload = transcode(pkt.payload) if transcode is not None else pkt.payload
        seq, ts, marker = self.out.relay(
            (id(source), pkt.ssrc), pkt.sequence, pkt.timestamp, len(pkt.payload)
        )
        self._send(self.payload_type, seq, ts, marker or pkt.marker, payload)

    def _relay_event(self, source: MediaLeg, pkt: RtpPacket) -> None:
        # RFC 4733 2.1: telephone events keep their timestamp; only the PT is remapped.
        if self.telephone_event_pt is None or self.playback is not None or self._echo:
            return
        seq, ts, marker = self.out.relay((id(source), pkt.ssrc), pkt.sequence, pkt.timestamp, 0)
        self._send(self.telephone_event_pt, seq, ts, marker or pkt.marker, pkt.payload)

    def _relay_to_self(self, pkt: RtpPacket) -> None:
        if self.playback is not None:
            return
        seq, ts, marker = self.out.relay(
            ("echo", pkt.ssrc), pkt.sequence, pkt.timestamp, len(pkt.payload)
        )
        self._send(self.payload_type, seq, ts, marker or pkt.marker, pkt.payload)

    def _retranscode(self) -> None:
        peer = self.peer
        if peer is None or peer.codec is None or self.codec is None:
            self._transcode = None
            return
        # Own codec instances for the transcoder: G.722 keeps ADPCM state per direction.
        src = create_codec(peer.codec.name)
        dst = create_codec(self.codec.name)
        self._transcode = make_transcoder(src, dst)

    # ---- features --------------------------------------------------------------------

    def play(
        self,
        items: Sequence[bytes] | Sequence[Pcm],
        on_done: Callable[[bool], None] | None = None,
        *,
        interruptible: bool = True,
        cache_key: str | None = None,
    ) -> Playback:
        """Play encoded 20 ms frames (bytes, in this leg's codec) or a list of 8 kHz PCM
        arrays back to back without gaps. on_done(completed) runs once: True at the end,
        False when stopped or interrupted by a DTMF digit (if interruptible).
        With cache_key, the PCM is encoded once per (key, codec) and shared by all legs."""
        frames: Sequence[bytes]
        if items and not isinstance(items[0], bytes | bytearray):
            if self.codec is None:
                raise RuntimeError("play() before SDP negotiation: no codec yet")
            pcm = np.concatenate([np.asarray(p, dtype=np.int16).reshape(-1) for p in items])
            if cache_key is not None:
                frames = self.engine.frame_cache.frames(cache_key, self.codec.name, pcm)
            else:
                frames = encode_frames(pcm, self.codec)
        else:
            frames = cast(Sequence[bytes], items)
        return self._start(Playback(frames, self.send_frame, on_done, interruptible=interruptible))

    def start_moh(self, class_name: str) -> Playback:
        """Loop the shared music-on-hold class from its start; not interrupted by DTMF."""
        if self.codec is None:
            raise RuntimeError("start_moh() before SDP negotiation: no codec yet")
        frames = self.engine.moh(class_name).frames(self.codec.name)
        return self._start(Playback(frames, self.send_frame, None, interruptible=False, loop=True))

    def _start(self, playback: Playback) -> Playback:
        self.stop_playback()
        self._echo = False
        user_done = playback.on_done

        def done(completed: bool) -> None:
            if self.playback is playback:
                self.playback = None
                self.engine.ticker.remove(playback)
            if user_done is not None:
                user_done(completed)

        playback.on_done = done
        self.playback = playback
        self.engine.ticker.add(playback)
        return playback

    def stop_playback(self) -> None:
        playback = self.playback
        if playback is not None:
            playback.stop()  # runs done(): clears self.playback and leaves the ticker

    def send_dtmf(self, digit: str, duration_ms: int = 100) -> bool:
        """Send a digit as RFC 4733 telephone events (one packet per tick). False when
        the peer did not negotiate telephone-event or a digit is still being sent."""
        if self.telephone_event_pt is None or self._dtmf_out is not None:
            return False
        self._dtmf_out = _DtmfSend(
            self, event_packets(digit, duration_ms=duration_ms), duration_ms * 8
        )
        self.engine.ticker.add(self._dtmf_out)
        return True

    def echo(self, enabled: bool = True) -> None:
        """Send the caller's own audio back (the echo test)."""
        if enabled:
            self.stop_playback()
        self._echo = enabled

    def record(
        self,
        path: str,
        which: Literal["both", "in", "out"] = "both",
        *,
        stereo: bool = False,
    ) -> Recorder:
        """Start recording to a WAV file: 'in' is what the phone sends us, 'out' what we
        send it, 'both' both (mixed, or stereo with in on the left)."""
        from media.recorder import Recorder

        if self.codec is None:
            raise RuntimeError("record() before SDP negotiation: no codec yet")
        self.stop_recording()
        self.recorder = Recorder(path, self.codec.name, which=which, stereo=stereo)
        self.engine.ticker.add(self.recorder)
        return self.recorder

    def stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            self.engine.ticker.remove(recorder)
            recorder.close()

    # ---- housekeeping ----------------------------------------------------------------

    @property
    def stats(self) -> LegStats:
        self._stats.packets_lost = self.rx.lost
        self._stats.jitter_ms = round(self.rx.jitter_ms, 3)
        return self._stats

    @property
    def last_activity(self) -> float:
        last = self.endpoint.last_rx
        return self.opened_at if last is None else max(last, self.opened_at)

    def expects_media(self) -> bool:
        """Whether the peer is meant to send to us (our direction sendrecv or recvonly).
        A held stream (we sendonly or inactive, or c=0.0.0.0) is silent, not dead."""
        answer = self.negotiated
        if answer is None or answer.remote_addr is None:
            return False
        return self.direction in ("sendrecv", "recvonly")

    def send_rtcp(self, unix_time: float) -> None:
        if self.codec is None:
            return
        report = build_rtcp_report(
            ssrc=self.out.ssrc,
            stats=self._stats,
            rtp_timestamp=self.out.ts,
            unix_time=unix_time,
            remote_ssrc=self.remote_ssrc,
            receive=self.rx,
        )
        self.endpoint.send_rtcp(report)

    def close(self) -> None:
        """Release the ports and every callback; safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        self.stop_playback()
        self.stop_recording()
        if self.peer is not None:
            self.engine.unbridge(self)
        self._echo = False
        self.engine._forget(self)
        self.endpoint.close()
        # Callbacks refer back to their owners (a caller session, a call):
        # drop them so a closed call is freed by reference counting.
        self.on_dtmf = None
        self.on_dead = None


class _DtmfSend:
    """Ticker stream for one outgoing digit. RFC 4733 2.5.1.2: every packet of the event
    carries the event's start timestamp; the stream resumes at start + duration."""

    __slots__ = ("leg", "packets", "duration", "index", "start_ts")

    def __init__(self, leg: MediaLeg, packets: list[EventPacket], duration: int) -> None:
        self.leg = leg
        self.packets = packets
        self.duration = duration
        self.index = 0
        self.start_ts: int | None = None

    def tick(self) -> bool:
        leg, out = self.leg, self.leg.out
        if leg.closed or leg.telephone_event_pt is None:
            leg._dtmf_out = None
            return False
        if self.start_ts is None:
            self.start_ts = out.ts
            out.source = "dtmf"
        packet = self.packets[self.index]
        seq = out.seq
        out.seq = (seq + 1) & 0xFFFF
        leg._send(leg.telephone_event_pt, seq, self.start_ts, packet.marker, packet.payload)
        self.index += 1
        if self.index < len(self.packets):
            return True
        out.ts = (self.start_ts + self.duration) & 0xFFFFFFFF
        leg._dtmf_out = None
        return False
