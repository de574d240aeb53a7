"""The WebRTC transport under a media leg: ICE, DTLS-SRTP and the codec edge.

Theory of operation
-------------------
:class:`WebRtcEndpoint` looks, to :class:`~media.leg.MediaLeg`, like the
plain :class:`~media.endpoint.RtpEndpoint`: ``on_packet`` receives
:class:`~media.rtp.RtpPacket` objects, ``send(bytes)`` takes packed RTP.
So the leg's whole feature set (prompts, music on hold, bridging and
transcoding, RFC 4733 digits both ways, recording) works unchanged.

Underneath, aiortc's lower pieces carry the packets: an
``RTCIceTransport`` (host candidates on the configured address, full ICE
by aioice), an ``RTCDtlsTransport`` (DTLS 1.2 handshake, SRTP keys,
rtcp-mux on the one ICE component) - not a whole ``RTCPeerConnection``,
whose per-track encoder tasks, jitter buffer and decoder thread a relay
does not need.  aiortc's private pieces used here (``_register_rtp_receiver``,
``_tx_srtp``, aioice's nominated pair) are pinned by the aiortc version in
pyproject.toml and covered by tests.

The codec edge: when the browser sends Opus (RFC 7587, 48 kHz RTP clock),
each packet is decoded to 8 kHz PCM and handed to the leg as G.711 u-law
at an 8 kHz clock; what the leg sends as u-law is encoded to Opus on the
way out.  Telephone events keep their meaning with their clock rescaled
(RFC 4733 §2.1: timestamps and durations in the codec's clock).  With a
browser that chose G.711, packets pass through untouched.  All of this
runs in the packet's own callback: no task or thread per packet.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable
from typing import Any

from aiortc.rtcconfiguration import RTCIceServer
from aiortc.rtcdtlstransport import (
    RTCCertificate,
    RTCDtlsFingerprint,
    RTCDtlsParameters,
    RTCDtlsTransport,
)
from aiortc.rtcicetransport import (
    RTCIceCandidate,
    RTCIceGatherer,
    RTCIceParameters,
    RTCIceTransport,
)
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters

from media.codecs import PcmuCodec
from media.codecs.opus import OpusCodec
from media.rtp import RtpPacket
from media.webrtc.sdp import Candidate, Codec, WebRtcMedia

log = logging.getLogger(__name__)

_certificate: RTCCertificate | None = None


def certificate() -> RTCCertificate:
    """One DTLS certificate for the process (RFC 8827 §6.5 lets a server reuse it):
    making one per call costs milliseconds of CPU."""
    global _certificate
    if _certificate is None:
        _certificate = RTCCertificate.generateCertificate()
    return _certificate


#: What the leg above sees: G.711 u-law and 8 kHz telephone events.
INNER_AUDIO_PT = 0
INNER_EVENT_PT = 101
_HEADER = struct.Struct("!BBHII")


class _Receiver:
    """What RTCDtlsTransport routes decrypted RTP and RTCP to (aiortc's receiver shape)."""

    def __init__(self, endpoint: WebRtcEndpoint) -> None:
        self.endpoint = endpoint

    async def _handle_rtp_packet(self, packet: Any, arrival_time_ms: int) -> None:
        self.endpoint._rtp_in(packet)

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        return None

    def _handle_disconnect(self) -> None:
        return None


class WebRtcEndpoint:
    """ICE + DTLS-SRTP for one audio stream, with the Opus <-> G.711 edge."""

    def __init__(
        self, host: str, advertised: str | None = None, *,
        stun_server: tuple[str, int] | None = None,
    ) -> None:
        self.host = host
        self.advertised = advertised or host
        self.on_packet: Callable[[RtpPacket], None] | None = None
        self.on_rtcp: Callable[[list[object]], None] | None = None
        self.on_failed: Callable[[], None] | None = None
        self.on_route_change: Callable[[], None] | None = None  # RtpEndpoint's; unused
        self.last_rx: float | None = None  # time.monotonic(), as RtpEndpoint's
        self.closed = False
        self.port = 0
        self.ice_ufrag = ""
        self.ice_pwd = ""
        self.local_candidates: tuple[Candidate, ...] = ()
        self.remote_addr: tuple[str, int] | None = None
        # No STUN server unless configured: aiortc's default would send every
        # call's first packets to a public STUN server.
        servers = [RTCIceServer(urls=f"stun:{stun_server[0]}:{stun_server[1]}")] \
            if stun_server is not None else []
        self._gatherer = RTCIceGatherer(iceServers=servers)
        self._ice = RTCIceTransport(self._gatherer)
        self._dtls = RTCDtlsTransport(self._ice, [certificate()])
        self._task: asyncio.Task[None] | None = None
        # The codec edge, set by configure().
        self._audio_pt = INNER_AUDIO_PT
        self._event_pt: int | None = None
        self._scale = 1  # remote RTP clock / 8 kHz
        self._opus_in: OpusCodec | None = None
        self._opus_out: OpusCodec | None = None
        self._ulaw = PcmuCodec()
        self._ts_in: tuple[int, int] | None = None  # (first remote ts, first inner ts)
        self.packets_in = 0
        self.packets_out = 0

    @property
    def fingerprints(self) -> tuple[tuple[str, str], ...]:
        return tuple((f.algorithm, f.value) for f in self._dtls.getLocalParameters().fingerprints)

    async def gather(self) -> None:
        """Host candidate on our address (aioice leaves out loopback, and a server
        has one configured address anyway); the advertised address may differ (1:1 NAT).
        With a STUN server, also the server-reflexive candidate it saw (RFC 8445
        §5.1.1.2), carrying its base as raddr/rport (RFC 8839 §5.1)."""
        connection = self._gatherer._connection
        connection._local_candidates_start = True
        found = await connection.get_component_candidates(component=1, addresses=[self.host])
        connection._local_candidates += found
        connection._local_candidates_end = True
        if not found:
            raise OSError(f"cannot bind a UDP port for ICE on {self.host}")
        parameters = self._gatherer.getLocalParameters()
        self.ice_ufrag = parameters.usernameFragment or ""
        self.ice_pwd = parameters.password or ""
        self.port = found[0].port
        self.local_candidates = tuple(
            Candidate(foundation=c.foundation, component=c.component, transport="udp",
                      priority=c.priority, host=self.advertised, port=c.port, type="host")
            if c.type == "host" else
            Candidate(foundation=c.foundation, component=c.component, transport="udp",
                      priority=c.priority, host=c.host, port=c.port, type=c.type,
                      related_address=self.advertised, related_port=c.related_port)
            for c in found
        )

    def configure(self, codec: Codec, event: Codec | None) -> None:
        """The codec and telephone-event the browser and we agreed on."""
        self._audio_pt = codec.payload_type
        self._event_pt = event.payload_type if event is not None else None
        if codec.name.lower() == "opus":
            self._scale = codec.clock_rate // 8000
            if self._opus_in is None:
                self._opus_in, self._opus_out = OpusCodec(), OpusCodec()
        else:
            self._scale = 1

    def inner_codec(self, codec: Codec) -> tuple[str, int]:
        """(encoding name, payload type) the leg above uses for ``codec``."""
        if codec.name.lower() == "opus":
            return "PCMU", INNER_AUDIO_PT
        return codec.name.upper(), codec.payload_type

    def inner_event_pt(self, event: Codec | None) -> int | None:
        if event is None:
            return None
        return INNER_EVENT_PT if self._scale != 1 else event.payload_type

    def start(self, remote: WebRtcMedia, *, controlling: bool, dtls_client: bool) -> None:
        """Connect in the background: ICE checks, then the DTLS handshake (one task)."""
        connection = self._ice._connection
        connection.ice_controlling = controlling
        self._ice._role_set = True
        self._dtls._set_role("client" if dtls_client else "server")
        codecs = [RTCRtpCodecParameters(mimeType=f"audio/{c.name}", clockRate=c.clock_rate,
                                        channels=c.channels, payloadType=c.payload_type)
                  for c in (*remote.codecs, *remote.telephone_events)]
        self._dtls._register_rtp_receiver(
            _Receiver(self), RTCRtpReceiveParameters(codecs=codecs, muxId=remote.mid or ""),
        )
        if remote.candidates:
            first = remote.candidates[0]
            self.remote_addr = (first.host, first.port)
        self._task = asyncio.get_running_loop().create_task(self._connect(remote))

    async def _connect(self, remote: WebRtcMedia) -> None:
        try:
            for c in remote.candidates:
                await self._ice.addRemoteCandidate(RTCIceCandidate(
                    component=1, foundation=c.foundation, ip=c.host, port=c.port,
                    priority=c.priority, protocol="udp", type=c.type,
                ))  # fmt: skip
            await self._ice.addRemoteCandidate(None)
            await self._ice.start(RTCIceParameters(
                usernameFragment=remote.ice_ufrag, password=remote.ice_pwd,
                iceLite=remote.ice_lite,
            ))  # fmt: skip
            if self._ice.state != "completed":
                raise ConnectionError(f"ICE {self._ice.state}")
            await self._dtls.start(RTCDtlsParameters(fingerprints=[
                RTCDtlsFingerprint(algorithm=a, value=v) for a, v in remote.fingerprints
            ]))  # fmt: skip
            if self._dtls.state != "connected":
                raise ConnectionError(f"DTLS {self._dtls.state}")
            log.info("webrtc media connected on port %d", self.port)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a failed connection ends the call, never the loop
            log.info("webrtc media on port %d failed: %s", self.port, err)
            failed = self.on_failed
            if failed is not None and not self.closed:
                try:
                    failed()
                except Exception:
                    log.exception("on_failed callback failed")

    @property
    def connected(self) -> bool:
        return self._dtls.state == "connected"

    # ---- RtpEndpoint's interface -------------------------------------------------------

    def set_remote(self, rtp: object, rtcp: object = None) -> None:
        """ICE decides where packets go: nothing to do."""

    @property
    def fast(self) -> bool:
        """No fast receive path (media/fastpath.py reads plain sockets): aiortc hands
        every packet over decrypted."""
        return False

    def sweep(self, now: float) -> None:
        """ICE keeps the path: nothing to re-latch."""

    def _rtp_in(self, packet: Any) -> None:
        handler = self.on_packet
        if handler is None:
            return
        self.last_rx = time.monotonic()
        self.packets_in += 1
        pt = packet.payload_type
        payload = packet.payload
        if self._scale == 1:
            out = RtpPacket(payload_type=pt, sequence=packet.sequence_number,
                            timestamp=packet.timestamp, ssrc=packet.ssrc, payload=payload,
                            marker=bool(packet.marker))
        else:
            ts = self._inner_ts(packet.timestamp)
            if pt == self._audio_pt and self._opus_in is not None:
                pcm = self._opus_in.decode(payload)
                if len(pcm) == 0:
                    return
                payload, pt = self._ulaw.encode(pcm), INNER_AUDIO_PT
            elif pt == self._event_pt and len(payload) >= 4:
                duration = struct.unpack_from("!H", payload, 2)[0] // self._scale
                payload = payload[:2] + struct.pack("!H", duration) + payload[4:]
                pt = INNER_EVENT_PT
            else:
                return
            out = RtpPacket(payload_type=pt, sequence=packet.sequence_number, timestamp=ts,
                            ssrc=packet.ssrc, payload=payload, marker=bool(packet.marker))
        try:
            handler(out)
        except Exception:
            log.exception("webrtc packet handler failed")

    def _inner_ts(self, remote_ts: int) -> int:
        origin = self._ts_in
        if origin is None:
            origin = self._ts_in = (remote_ts, remote_ts // self._scale)
        elapsed = (remote_ts - origin[0]) & 0xFFFFFFFF
        if elapsed > 0x7FFFFFFF:  # a reordered packet from before the first one
            elapsed -= 0x100000000
        return (origin[1] + elapsed // self._scale) & 0xFFFFFFFF

    def send(self, data: bytes) -> bool:
        """One RTP packet from the leg above (u-law or telephone events at 8 kHz)."""
        if self.closed or self._dtls.state != "connected" or len(data) < 12:
            return False
        if self._scale != 1:
            first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
            pt = second & 0x7F
            header_len = 12 + 4 * (first & 0x0F)
            payload = data[header_len:]
            if pt == INNER_AUDIO_PT and self._opus_out is not None:
                payload = self._opus_out.encode(self._ulaw.decode(payload))
                pt = self._audio_pt
            elif pt == INNER_EVENT_PT and self._event_pt is not None and len(payload) >= 4:
                duration = min(0xFFFF, struct.unpack_from("!H", payload, 2)[0] * self._scale)
                payload = payload[:2] + struct.pack("!H", duration) + payload[4:]
                pt = self._event_pt
            else:
                return False
            ts = (ts * self._scale) & 0xFFFFFFFF
            data = _HEADER.pack(0x80, (second & 0x80) | pt, seq, ts, ssrc) + payload
        return self._send_srtp(data)

    def _send_srtp(self, data: bytes) -> bool:
        pair = self._ice._connection._nominated.get(1)
        if pair is None:
            return False
        try:
            protected = self._dtls._tx_srtp.protect(data)
            pair.protocol.transport.sendto(protected, pair.remote_addr)
        except Exception as err:
            log.debug("webrtc send failed: %s", err)
            return False
        self.packets_out += 1
        return True

    def send_rtcp(self, data: bytes) -> bool:
        """Our RTCP reports count in 8 kHz units: not sent to a browser (it needs none)."""
        return False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.on_packet = None
        self.on_rtcp = None
        self.on_failed = None
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        asyncio.get_running_loop().create_task(self._stop())

    async def _stop(self) -> None:
        try:
            await self._dtls.stop()
            await self._ice.stop()
        except Exception as err:
            log.debug("webrtc stop: %s", err)
