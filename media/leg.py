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
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np

from media.bridge import LOCAL, StreamRewriter, Transcode, make_transcoder
from media.codecs import FRAME_SAMPLES, Codec, Pcm, create_codec
from media.dtmf import DtmfReceiver, EventPacket, event_packets
from media.endpoint import RtpEndpoint
from media.fastpath import RelayReader, SinkReader
from media.recorder import Recorder
from media.rtp import HEADER, LegStats, ReceiveStats, RtpPacket, build_rtcp_report, pack_rtp
from media.sdp import Answer, make_offer, negotiate, parse_answer
from media.ticker import FrameCache, MohSource, Playback, Ticker, encode_frames

log = logging.getLogger(__name__)

SENDING = ("sendrecv", "sendonly")
COMFORT_NOISE_PT = 13  # RFC 3389: ignored


@dataclass(frozen=True, slots=True, kw_only=True)
class LegContext:
    """What a leg needs from the engine that made it - and no more, so that the leg
    does not import the engine. The engine builds one and hands it to every leg."""

    host: str
    codecs: tuple[str, ...]
    rtcp_interval: float
    clock: Callable[[], float]  # monotonic seconds (the dead-leg and RTCP timers)
    ticker: Ticker
    frame_cache: FrameCache
    moh: Callable[[str], MohSource]  # KeyError for an unknown class
    forget: Callable[[object], None]  # a closed leg leaves the engine's table
    fast_path: bool = True  # False: every packet takes the general path (benchmarks)


class MediaLeg:
    def __init__(self, context: LegContext, endpoint: RtpEndpoint) -> None:
        self.context = context
        self.endpoint = endpoint
        self.codec: Codec | None = None
        self.payload_type = -1
        self.telephone_event_pt: int | None = None
        self.direction = "sendrecv"
        self._sending = True
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
        self._reader: SinkReader | RelayReader | None = None
        self._session_id = random.getrandbits(62)
        self._sdp_version = 0
        self._offered: tuple[str, ...] = ()
        self.opened_at = context.clock()
        self.dead_reported = False
        self.watch_media = True  # False: someone else watches this leg's RTP (rtpengine)
        self.next_rtcp = self.opened_at + context.rtcp_interval * random.uniform(0.5, 1.5)
        self.closed = False
        endpoint.on_packet = self._on_packet
        endpoint.on_rtcp = self._on_rtcp
        endpoint.on_route_change = self._paths_changed

    # ---- signalling ------------------------------------------------------------------

    @property
    def local_port(self) -> int:
        return self.endpoint.port

    @property
    def _tick_key(self) -> int:
        # The ticker slot: the same for all of this leg's streams (one cadence), and
        # consecutive legs (ports two apart) in consecutive slots.
        return self.endpoint.port // 2

    def _version(self) -> int:
        # RFC 4566 5.2: the version is increased for each new offer/answer of the session.
        self._sdp_version += 1
        return self._sdp_version

    def local_sdp_answer(self, offer: bytes) -> bytes:
        """Answer a remote offer (initial or re-INVITE). Raises NoCommonCodec (SIP 488)
        or SdpError (SIP 400/488)."""
        answer = negotiate(
            offer,
            self.context.host,
            self.endpoint.port,
            self.context.codecs,
            session_id=self._session_id,
            version=self._version(),
        )
        self._apply(answer)
        return answer.sdp

    def make_offer(self, direction: str = "sendrecv") -> bytes:
        """An offer for an outgoing leg (or a re-INVITE, e.g. direction='sendonly' for hold)."""
        self._offered = self.context.codecs
        return make_offer(
            self.context.host,
            self.endpoint.port,
            self.context.codecs,
            direction=direction,
            session_id=self._session_id,
            version=self._version(),
        )

    def apply_answer(self, sdp: bytes) -> Answer:
        """Apply the remote answer to our offer. Raises NoCommonCodec/SdpError."""
        answer = parse_answer(sdp, self._offered or self.context.codecs)
        self._apply(answer)
        return answer

    # The engine-neutral forms (media/api.py): with rtpengine these are ng round trips.

    async def answer_offer(self, offer: bytes) -> bytes:
        return self.local_sdp_answer(offer)

    async def create_offer(self, direction: str = "sendrecv") -> bytes:
        return self.make_offer(direction)

    async def accept_answer(self, sdp: bytes) -> None:
        self.apply_answer(sdp)

    def _apply(self, answer: Answer) -> None:
        if self.codec is None or self.codec.name != answer.codec:
            self.codec = create_codec(answer.codec)
        self.payload_type = answer.payload_type
        self.telephone_event_pt = answer.telephone_event_pt
        self.direction = answer.direction
        self._sending = answer.direction in SENDING
        self.negotiated = answer
        # Dead-leg detection counts from the latest offer/answer (e.g. a resume from hold).
        self.opened_at = self.context.clock()
        self.dead_reported = False
        self.endpoint.set_remote(answer.remote_addr, answer.remote_rtcp_addr)
        if self.peer is not None:
            self._retranscode()
            self.peer._retranscode()
        self._paths_changed()

    # ---- receive path ----------------------------------------------------------------

    def _on_packet(self, pkt: RtpPacket) -> None:
        stats = self._stats
        stats.packets_received += 1
        stats.bytes_received += len(pkt.payload)
        self.rx.update(pkt.sequence, pkt.timestamp, self.endpoint.last_rx or self.context.clock())
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
        """Send one locally generated 20 ms frame (already in this leg's codec). The
        ticker calls this for every playing stream: StreamRewriter.next_local and _send
        are inlined."""
        if self._dtmf_out is not None:
            return  # an outgoing telephone event owns the stream for now
        out = self.out
        seq, ts = out.seq, out.ts
        second = self.payload_type
        if out.source != LOCAL:
            # RFC 3551 4.1: the marker bit on the first packet after a discontinuity.
            out.source = LOCAL
            second |= 0x80
        out.seq = (seq + 1) & 0xFFFF
        out.ts = (ts + FRAME_SAMPLES) & 0xFFFFFFFF
        if not self._sending:
            return
        if self.endpoint.send(HEADER.pack(0x80, second, seq, ts, out.ssrc) + payload):
            stats = self._stats
            stats.packets_sent += 1
            stats.bytes_sent += len(payload)
            if self.recorder is not None:
                self.recorder.sent(payload)

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

    # ---- bridging --------------------------------------------------------------------

    def bridge_to(self, other: MediaLeg) -> None:
        """Relay audio and DTMF events between this leg and `other` (transcoding when
        their codecs differ). Stops playback and echo on both; each leg keeps its own
        SSRC/seq/ts."""
        if other is self:
            raise ValueError("cannot bridge a leg to itself")
        for leg in (self, other):
            leg.unbridge()
            leg.stop_playback()
            leg.echo(False)
        self.peer, other.peer = other, self
        self._retranscode()
        other._retranscode()
        self._paths_changed()

    def unbridge(self) -> None:
        peer = self.peer
        if peer is None:
            return
        self.peer = None
        self._retranscode()
        if peer.peer is self:
            peer.peer = None
            peer._retranscode()
        self._update_path()
        peer._update_path()

    def _paths_changed(self) -> None:
        """Something a receive path depends on changed: choose again for this leg and
        for its peer (whose relay sends through this leg's socket and rewriter)."""
        self._update_path()
        if self.peer is not None:
            self.peer._update_path()

    def _update_path(self) -> None:
        """Install the fast reader that fits this leg's state, or none (general path).
        Sink: nothing consumes the leg's audio. Relay: the peer takes this leg's audio
        in the same codec and nothing else owns the peer's output (media/fastpath.py)."""
        endpoint = self.endpoint
        if endpoint.closed or self.closed:
            return
        if not isinstance(endpoint, RtpEndpoint):
            # A WebRTC leg (media/webrtc): its packets come decrypted (and decoded from
            # Opus) through aiortc, never from a plain socket a reader could take.
            return
        reader: SinkReader | RelayReader | None = None
        if (
            self.context.fast_path
            and self.codec is not None
            and self.recorder is None
            and not self._echo
        ):
            peer = self.peer
            if (
                peer is None
                or peer.playback is not None
                or peer._echo
                or peer._dtmf_out is not None
            ):
                # No relay (general would drop the audio too): count it and drop it.
                reader = SinkReader(
                    endpoint, self._stats, self.rx, self.payload_type, self._remote_source
                )
            elif (
                peer.codec is not None
                and peer.codec.name == self.codec.name
                and peer.recorder is None
                and not peer._echo
                and peer.direction in SENDING
                and isinstance(peer.endpoint, RtpEndpoint)  # not a WebRTC leg's
                and peer.endpoint.remote_addr is not None
                and not peer.endpoint.closed
            ):
                reader = RelayReader(
                    endpoint,
                    self._stats,
                    self.rx,
                    self.payload_type,
                    self._relayed_source,
                    out=peer.out,
                    out_payload_type=peer.payload_type,
                    dst=peer.endpoint,
                    dst_stats=peer._stats,
                )
        self._reader = reader
        endpoint.set_fast_reader(reader.read if reader is not None else None)

    @property
    def receive_path(self) -> Literal["relay", "sink", "general"]:
        """Which path this leg's received RTP takes now: the fast relay to the peer, the
        fast sink (counted, not relayed), or the general path."""
        if not self.endpoint.fast:
            return "general"
        return "relay" if isinstance(self._reader, RelayReader) else "sink"

    def _remote_source(self) -> int | None:
        return self.remote_ssrc

    def _relayed_source(self) -> int | None:
        """The SSRC whose packets the peer's rewriter is set up for (by the general
        path, on the first packet of a source): the fast relay may handle those."""
        peer = self.peer
        source = peer.out.source if peer is not None else None
        if isinstance(source, tuple) and source[0] == id(self) and source[1] == self.remote_ssrc:
            return self.remote_ssrc
        return None

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
                frames = self.context.frame_cache.frames(cache_key, self.codec.name, pcm)
            else:
                frames = encode_frames(pcm, self.codec)
        else:
            frames = cast(Sequence[bytes], items)
        return self._start(Playback(frames, self.send_frame, on_done, interruptible=interruptible))

    def start_moh(self, class_name: str) -> Playback:
        """Loop the shared music-on-hold class from its start; not interrupted by DTMF."""
        if self.codec is None:
            raise RuntimeError("start_moh() before SDP negotiation: no codec yet")
        frames = self.context.moh(class_name).frames(self.codec.name)
        return self._start(Playback(frames, self.send_frame, None, interruptible=False, loop=True))

    def _start(self, playback: Playback) -> Playback:
        self.stop_playback()
        self._echo = False
        user_done = playback.on_done

        def done(completed: bool) -> None:
            if self.playback is playback:
                self.playback = None
                self.context.ticker.remove(playback)
                self._paths_changed()
            if user_done is not None:
                user_done(completed)

        playback.on_done = done
        self.playback = playback
        self.context.ticker.add(playback, self._tick_key)
        self._paths_changed()
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
        self.context.ticker.add(self._dtmf_out, self._tick_key)
        self._paths_changed()
        return True

    def _dtmf_sent(self) -> None:
        self._dtmf_out = None
        self._paths_changed()

    def echo(self, enabled: bool = True) -> None:
        """Send the caller's own audio back (the echo test)."""
        if enabled:
            self.stop_playback()
        self._echo = enabled
        self._paths_changed()

    def record(
        self,
        path: str,
        which: Literal["both", "in", "out"] = "both",
        *,
        stereo: bool = False,
    ) -> Recorder:
        """Start recording to a WAV file: 'in' is what the phone sends us, 'out' what we
        send it, 'both' both (mixed, or stereo with in on the left)."""
        if self.codec is None:
            raise RuntimeError("record() before SDP negotiation: no codec yet")
        self.stop_recording()
        recorder = self.recorder = Recorder(path, self.codec.name, which=which, stereo=stereo)
        self.context.ticker.add(recorder, self._tick_key)
        self._paths_changed()
        return recorder

    def stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            self.context.ticker.remove(recorder)
            recorder.close()
            self._paths_changed()

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
        if answer is None or answer.remote_addr is None or not self.watch_media:
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
        self.unbridge()
        self._echo = False
        self.context.forget(self)
        # The fast reader refers back to this leg (resync): drop it with the socket.
        self._reader = None
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
            leg._dtmf_sent()
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
        leg._dtmf_sent()
        return False
