"""SDP for WebRTC audio (RFC 8829 JSEP, RFC 8843 BUNDLE, RFC 5763 DTLS-SRTP, RFC 8445 ICE).

Theory of operation
-------------------
A browser offers ``m=audio 9 UDP/TLS/RTP/SAVPF 111 ... `` with its ICE
credentials, DTLS fingerprint, ``a=setup:actpass``, ``a=rtcp-mux`` and
usually Opus, G.711 and telephone-event at both 48 and 8 kHz.  This module
reads what matters of such a description (:func:`parse_webrtc`) and writes
ours (:func:`write_webrtc`): one audio stream, rtcp-mux, one BUNDLE group
with the offer's mid, our ICE host candidates and fingerprint.  The codec
is chosen by our preference among those offered (:func:`choose`), with the
telephone-event whose clock matches it (RFC 4733 §2.1).

Everything here is pure: bytes in, dataclasses out; errors are
:class:`~media.sdp.SdpError` (SIP 488) or :class:`~media.sdp.NoCommonCodec`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from media.sdp import NoCommonCodec, SdpError, parse_sdp

WEBRTC_PROTO = "UDP/TLS/RTP/SAVPF"
ANSWER_DIRECTION = {
    "sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive",
}
#: Our codecs, best first: (encoding name, RTP clock rate, channels in rtpmap).
PREFERRED = (("opus", 48000, 2), ("PCMU", 8000, 1), ("PCMA", 8000, 1))
_DEFAULT_PT = {"opus": 111, "PCMU": 0, "PCMA": 8}
_TE_PT = {48000: 110, 8000: 126}


def is_webrtc(sdp: bytes) -> bool:
    """Whether an SDP body offers WebRTC media (DTLS-SRTP profile on its audio)."""
    return b"UDP/TLS/RTP/SAVP" in sdp


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """An ICE candidate line's parts (RFC 8839 §5.1)."""

    foundation: str
    component: int
    transport: str
    priority: int
    host: str
    port: int
    type: str
    related_address: str | None = None  # raddr/rport: a srflx candidate's own base
    related_port: int | None = None

    def line(self) -> str:
        line = (f"{self.foundation} {self.component} {self.transport} {self.priority} "
                f"{self.host} {self.port} typ {self.type}")
        if self.related_address is not None and self.related_port is not None:
            line += f" raddr {self.related_address} rport {self.related_port}"
        return line

    @classmethod
    def parse(cls, value: str) -> Candidate:
        parts = value.split()
        if len(parts) < 8 or parts[6] != "typ":
            raise SdpError(f"bad candidate {value!r}")
        try:
            return cls(foundation=parts[0], component=int(parts[1]), transport=parts[2].lower(),
                       priority=int(parts[3]), host=parts[4], port=int(parts[5]), type=parts[7])
        except ValueError as exc:
            raise SdpError(f"bad candidate {value!r}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class Codec:
    name: str
    payload_type: int
    clock_rate: int
    channels: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class WebRtcMedia:
    """What a browser's description says about its audio stream."""

    mid: str | None
    ice_ufrag: str
    ice_pwd: str
    ice_lite: bool
    fingerprints: tuple[tuple[str, str], ...]  # (algorithm, value)
    setup: str  # actpass, active, passive
    candidates: tuple[Candidate, ...]
    codecs: tuple[Codec, ...]  # in the offer's order
    telephone_events: tuple[Codec, ...]
    direction: str
    rtcp_mux: bool


def parse_webrtc(data: bytes) -> WebRtcMedia:
    """The first audio stream of a WebRTC description; SdpError if it is not one."""
    sdp = parse_sdp(data)
    audio = next((m for m in sdp.media if m.media == "audio" and m.port != 0), None)
    if audio is None:
        raise SdpError("no audio stream")
    if not audio.proto.startswith("UDP/TLS/RTP/SAVP"):
        raise SdpError(f"not WebRTC media: {audio.proto}")

    def attr(name: str) -> str | None:
        value = audio.attribute(name)
        return value if value is not None else sdp.attribute(name)

    ufrag, pwd = attr("ice-ufrag"), attr("ice-pwd")
    if not ufrag or not pwd:
        raise SdpError("no ice-ufrag/ice-pwd")
    fingerprints = tuple(
        (value.split()[0].lower(), value.split()[1])
        for key, value in [*sdp.attributes, *audio.attributes]
        if key == "fingerprint" and value and len(value.split()) == 2
    )
    if not fingerprints:
        # RFC 5763 §5: the fingerprint is what authenticates the DTLS handshake.
        raise SdpError("no DTLS fingerprint")
    candidates = []
    for key, value in audio.attributes:
        if key == "candidate" and value:
            candidate = Candidate.parse(value)
            if candidate.component == 1 and candidate.transport == "udp":
                candidates.append(candidate)
    codecs: list[Codec] = []
    events: list[Codec] = []
    rtpmap: dict[int, tuple[str, int, int]] = {}
    for key, value in audio.attributes:
        if key != "rtpmap" or not value:
            continue
        pt_text, _, encoding = value.partition(" ")
        parts = encoding.strip().split("/")
        try:
            rtpmap[int(pt_text)] = (
                parts[0], int(parts[1]) if len(parts) > 1 else 8000,
                int(parts[2]) if len(parts) > 2 else 1,
            )
        except ValueError:
            continue
    for fmt in audio.formats:
        if not fmt.isdigit():
            continue
        pt = int(fmt)
        name, rate, channels = rtpmap.get(pt, ({0: "PCMU", 8: "PCMA"}.get(pt, ""), 8000, 1))
        codec = Codec(name=name, payload_type=pt, clock_rate=rate, channels=channels)
        if name.lower() == "telephone-event":
            events.append(codec)
        elif name:
            codecs.append(codec)
    direction = audio.direction or sdp.direction or "sendrecv"
    return WebRtcMedia(
        mid=audio.attribute("mid"), ice_ufrag=ufrag, ice_pwd=pwd,
        ice_lite=sdp.attribute("ice-lite") is not None, fingerprints=fingerprints,
        setup=(attr("setup") or "actpass").lower(), candidates=tuple(candidates),
        codecs=tuple(codecs), telephone_events=tuple(events), direction=direction,
        rtcp_mux=audio.attribute("rtcp-mux") is not None,
    )


def choose(remote: WebRtcMedia, preferred: tuple[str, ...] = ("opus", "PCMU", "PCMA"),
           ) -> tuple[Codec, Codec | None]:
    """Our most preferred codec the remote offered, and its telephone-event (same clock)."""
    offered = {c.name.lower(): c for c in reversed(remote.codecs)}
    for name in preferred:
        codec = offered.get(name.lower())
        if codec is not None:
            event = next((e for e in remote.telephone_events if e.clock_rate == codec.clock_rate),
                         None)
            return codec, event
    names = [c.name for c in remote.codecs]
    raise NoCommonCodec(f"no common codec: offered {names}, supported {list(preferred)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalMedia:
    """What we put in our description."""

    host: str
    port: int
    ice_ufrag: str
    ice_pwd: str
    fingerprints: tuple[tuple[str, str], ...]
    setup: str
    candidates: tuple[Candidate, ...]
    codecs: tuple[Codec, ...]
    telephone_events: tuple[Codec, ...]
    direction: str = "sendrecv"
    mid: str = "0"
    ssrc: int = field(default_factory=lambda: random.getrandbits(32))
    cname: str = "jono"


def write_webrtc(local: LocalMedia, *, session_id: int, version: int) -> bytes:
    """Our offer or answer: one audio stream, rtcp-mux, BUNDLE of its mid."""
    ip = "IP6" if ":" in local.host else "IP4"
    formats = [str(c.payload_type) for c in (*local.codecs, *local.telephone_events)]
    lines = [
        "v=0", f"o=jono {session_id} {version} IN {ip} {local.host}", "s=-", "t=0 0",
        f"a=group:BUNDLE {local.mid}", "a=msid-semantic: WMS jono",
        f"m=audio {local.port} {WEBRTC_PROTO} {' '.join(formats)}",
        f"c=IN {ip} {local.host}",
        f"a=rtcp:{local.port} IN {ip} {local.host}",
        f"a=ice-ufrag:{local.ice_ufrag}", f"a=ice-pwd:{local.ice_pwd}",
    ]
    lines += [f"a=fingerprint:{algorithm} {value}" for algorithm, value in local.fingerprints]
    lines += [f"a=setup:{local.setup}", f"a=mid:{local.mid}", f"a={local.direction}",
              "a=rtcp-mux"]
    lines += [f"a=candidate:{c.line()}" for c in local.candidates]
    lines.append("a=end-of-candidates")
    for codec in local.codecs:
        channels = f"/{codec.channels}" if codec.channels > 1 else ""
        lines.append(f"a=rtpmap:{codec.payload_type} {codec.name}/{codec.clock_rate}{channels}")
        if codec.name.lower() == "opus":
            lines.append(f"a=fmtp:{codec.payload_type} minptime=10;useinbandfec=1")
    for event in local.telephone_events:
        lines.append(f"a=rtpmap:{event.payload_type} telephone-event/{event.clock_rate}")
        lines.append(f"a=fmtp:{event.payload_type} 0-16")
    lines += [f"a=msid:jono audio{local.ssrc}", f"a=ssrc:{local.ssrc} cname:{local.cname}"]
    return ("\r\n".join(lines) + "\r\n").encode()


def offer_codecs() -> tuple[tuple[Codec, ...], tuple[Codec, ...]]:
    """The codecs and telephone-events of an offer we make to a browser."""
    codecs = tuple(Codec(name=n, payload_type=_DEFAULT_PT[n], clock_rate=r, channels=ch)
                   for n, r, ch in PREFERRED)
    events = tuple(Codec(name="telephone-event", payload_type=pt, clock_rate=rate)
                   for rate, pt in _TE_PT.items())
    return codecs, events


def answer_direction(offered: str) -> str:
    return ANSWER_DIRECTION.get(offered, "sendrecv")
