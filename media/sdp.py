"""SDP (RFC 4566) parse/serialize and the offer/answer model (RFC 3264) for one audio
stream: PCMU, PCMA, G722 and telephone-event; ptime; hold through direction attributes.

SIP carries SDP as opaque bytes; the SIP side maps NoCommonCodec to 488.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from media.codecs import STATIC_PT

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
# RFC 3264 6.1: a sendonly offer is answered recvonly, recvonly with sendonly, inactive
# with inactive, and sendrecv with sendrecv (or any of them, by the answerer's choice).
ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
RTP_PROFILES = ("RTP/AVP", "RTP/AVPF")
TELEPHONE_EVENT = "telephone-event"
DEFAULT_TE_PT = 101
_version_counter = itertools.count(1)


class SdpError(ValueError):
    """Malformed SDP."""


class NoCommonCodec(SdpError):
    """The offer (or answer) has no audio stream with a codec we support. SIP: 488."""


@dataclass(slots=True, kw_only=True)
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: list[str]
    connection: str | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)  # i=, b=, k= lines

    def attribute(self, name: str) -> str | None:
        for key, value in self.attributes:
            if key == name:
                return value if value is not None else ""
        return None

    def rtpmap(self) -> dict[int, tuple[str, int]]:
        """Payload type -> (encoding name, clock rate) from a=rtpmap (RFC 4566 6)."""
        out: dict[int, tuple[str, int]] = {}
        for key, value in self.attributes:
            if key != "rtpmap" or not value:
                continue
            pt_text, _, encoding = value.partition(" ")
            parts = encoding.strip().split("/")
            try:
                out[int(pt_text)] = (parts[0], int(parts[1]) if len(parts) > 1 else 8000)
            except ValueError:
                continue
        return out

    @property
    def direction(self) -> str | None:
        for key, _ in self.attributes:
            if key in DIRECTIONS:
                return key
        return None


@dataclass(slots=True, kw_only=True)
class SessionDescription:
    origin: str
    session_name: str = "-"
    connection: str | None = None
    timing: str = "0 0"
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)

    @property
    def direction(self) -> str | None:
        for key, _ in self.attributes:
            if key in DIRECTIONS:
                return key
        return None

    def attribute(self, name: str) -> str | None:
        for key, value in self.attributes:
            if key == name:
                return value if value is not None else ""
        return None


def _parse_connection(value: str) -> str:
    # RFC 4566 5.7: c=<nettype> <addrtype> <connection-address>[/ttl][/count]
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"bad c= line {value!r}")
    return parts[2].split("/")[0]


def _parse_attribute(value: str) -> tuple[str, str | None]:
    name, sep, rest = value.partition(":")
    return (name.strip(), rest if sep else None)


def parse_sdp(data: bytes) -> SessionDescription:
    """Parse an SDP body. Raises SdpError naming the offending line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SdpError("SDP is not UTF-8") from exc
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or not lines[0].startswith("v="):
        raise SdpError("SDP must start with v=")
    if lines[0].strip() != "v=0":
        raise SdpError(f"unsupported SDP version {lines[0]!r}")
    session = SessionDescription(origin="")
    current: MediaDescription | None = None
    for line in lines[1:]:
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"bad SDP line {line!r}")
        key, value = line[0], line[2:].strip()
        if key == "m":
            # RFC 4566 5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
            parts = value.split()
            if len(parts) < 4:
                raise SdpError(f"bad m= line {line!r}")
            try:
                port = int(parts[1].split("/")[0])
            except ValueError as exc:
                raise SdpError(f"bad port in m= line {line!r}") from exc
            current = MediaDescription(media=parts[0], port=port, proto=parts[2], formats=parts[3:])
            session.media.append(current)
        elif current is not None:
            if key == "c":
                current.connection = _parse_connection(value)
            elif key == "a":
                current.attributes.append(_parse_attribute(value))
            else:
                current.other.append((key, value))
        elif key == "o":
            session.origin = value
        elif key == "s":
            session.session_name = value
        elif key == "c":
            session.connection = _parse_connection(value)
        elif key == "t":
            session.timing = value
        elif key == "a":
            session.attributes.append(_parse_attribute(value))
        else:
            session.other.append((key, value))
    if not session.origin:
        raise SdpError("SDP has no o= line")
    return session


def serialize_sdp(sdp: SessionDescription) -> bytes:
    lines = ["v=0", f"o={sdp.origin}", f"s={sdp.session_name}"]
    lines += [f"{k}={v}" for k, v in sdp.other if k in ("i", "u", "e", "p")]
    if sdp.connection:
        lines.append(f"c=IN {_addrtype(sdp.connection)} {sdp.connection}")
    lines += [f"{k}={v}" for k, v in sdp.other if k == "b"]
    lines.append(f"t={sdp.timing}")
    lines += [_attr_line(a) for a in sdp.attributes]
    for m in sdp.media:
        lines.append(f"m={m.media} {m.port} {m.proto} {' '.join(m.formats)}")
        if m.connection:
            lines.append(f"c=IN {_addrtype(m.connection)} {m.connection}")
        lines += [f"{k}={v}" for k, v in m.other]
        lines += [_attr_line(a) for a in m.attributes]
    return ("\r\n".join(lines) + "\r\n").encode()


def _attr_line(attr: tuple[str, str | None]) -> str:
    return f"a={attr[0]}" if attr[1] is None else f"a={attr[0]}:{attr[1]}"


def _addrtype(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """The outcome of offer/answer for our one audio stream.

    direction is what WE do (the direction attribute in our SDP): "recvonly" means we
    must not send. remote_addr is None when the peer gave no usable address (0.0.0.0).
    """

    sdp: bytes
    codec: str
    payload_type: int
    telephone_event_pt: int | None
    remote_addr: tuple[str, int] | None
    remote_rtcp_addr: tuple[str, int] | None
    direction: str
    ptime: int = 20


def _new_origin(local_ip: str, session_id: int | None, version: int | None) -> str:
    sid = session_id if session_id is not None else random.getrandbits(62)
    ver = version if version is not None else next(_version_counter)
    return f"jono {sid} {ver} IN {_addrtype(local_ip)} {local_ip}"


def _codec_name(pt: int, rtpmap: dict[int, tuple[str, int]]) -> str | None:
    if pt in rtpmap:
        name, rate = rtpmap[pt]
        # RFC 3551 4.5.2: G722 is advertised with an 8000 RTP clock.
        return name.upper() if rate == 8000 else None
    # RFC 3551 6: static payload types may be used without an rtpmap.
    return STATIC_PT.get(pt)


def _telephone_event_pt(m: MediaDescription, rtpmap: dict[int, tuple[str, int]]) -> int | None:
    # RFC 4733 7.1.1: telephone-event with the stream's clock rate; only listed formats.
    for fmt in m.formats:
        name, rate = rtpmap.get(int(fmt) if fmt.isdigit() else -1, ("", 0))
        if name.lower() == TELEPHONE_EVENT and rate == 8000:
            return int(fmt)
    return None


def _remote(
    sdp: SessionDescription, m: MediaDescription
) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    address = m.connection or sdp.connection
    # RFC 3264 8.4: c=0.0.0.0 is the old (RFC 2543) way to put a stream on hold.
    if not address or address in ("0.0.0.0", "::") or m.port == 0:
        return None, None
    rtcp_port = m.port + 1
    rtcp_addr = address
    rtcp = m.attribute("rtcp")
    if rtcp:
        # RFC 3605 2.1: a=rtcp:<port> [nettype addrtype address]
        parts = rtcp.split()
        try:
            rtcp_port = int(parts[0])
            if len(parts) >= 4:
                rtcp_addr = parts[3]
        except ValueError:
            pass
    return (address, m.port), (rtcp_addr, rtcp_port)


def _ptime(sdp: SessionDescription, m: MediaDescription) -> int:
    value = m.attribute("ptime") or sdp.attribute("ptime")
    try:
        return int(float(value)) if value else 20
    except ValueError:
        return 20


def _rejected(m: MediaDescription) -> MediaDescription:
    # RFC 3264 6: a rejected stream is answered with port zero and at least one format.
    return MediaDescription(media=m.media, port=0, proto=m.proto, formats=m.formats[:1] or ["0"])


def negotiate(
    offer: bytes,
    local_ip: str,
    local_port: int,
    supported: tuple[str, ...] = ("PCMU", "PCMA", "G722"),
    *,
    session_id: int | None = None,
    version: int | None = None,
) -> Answer:
    """Answer an offer: the first audio stream, with the caller's first codec we support
    (RFC 3264 6.1: same payload type numbers as the offer), plus telephone-event."""
    sdp = parse_sdp(offer)
    wanted = {name.upper() for name in supported}
    answer_media: list[MediaDescription] = []
    chosen: tuple[str, int, int | None, MediaDescription] | None = None
    for m in sdp.media:
        if chosen is not None or m.media != "audio" or m.port == 0 or m.proto not in RTP_PROFILES:
            answer_media.append(_rejected(m))
            continue
        rtpmap = m.rtpmap()
        for fmt in m.formats:
            try:
                pt = int(fmt)
            except ValueError:
                continue
            name = _codec_name(pt, rtpmap)
            if name in wanted:
                assert name is not None
                chosen = (name, pt, _telephone_event_pt(m, rtpmap), m)
                break
        if chosen is None:
            answer_media.append(_rejected(m))
            continue
        name, pt, te_pt, _ = chosen
        offered_direction = m.direction or sdp.direction or "sendrecv"
        direction = ANSWER_DIRECTION[offered_direction]
        formats = [str(pt)] + ([str(te_pt)] if te_pt is not None else [])
        attrs: list[tuple[str, str | None]] = [("rtpmap", f"{pt} {name}/8000")]
        if te_pt is not None:
            attrs += [("rtpmap", f"{te_pt} telephone-event/8000"), ("fmtp", f"{te_pt} 0-16")]
        attrs += [("ptime", "20"), (direction, None)]
        answer_media.append(
            MediaDescription(
                media="audio", port=local_port, proto=m.proto, formats=formats, attributes=attrs
            )
        )
    if chosen is None:
        offered = [f"{m.media} {m.proto} {' '.join(m.formats)}" for m in sdp.media]
        raise NoCommonCodec(f"no common codec: offered {offered}, supported {sorted(wanted)}")
    name, pt, te_pt, m = chosen
    remote_addr, remote_rtcp = _remote(sdp, m)
    answer = SessionDescription(
        origin=_new_origin(local_ip, session_id, version),
        connection=local_ip,
        media=answer_media,
    )
    return Answer(
        sdp=serialize_sdp(answer),
        codec=name,
        payload_type=pt,
        telephone_event_pt=te_pt,
        remote_addr=remote_addr,
        remote_rtcp_addr=remote_rtcp,
        direction=ANSWER_DIRECTION[m.direction or sdp.direction or "sendrecv"],
        ptime=_ptime(sdp, m),
    )


def holds(offer: bytes) -> bool:
    """Whether an offer puts the offerer's audio on hold (RFC 3264 §8.4).

    "If the stream to be placed on hold was previously a sendrecv media
    stream, it is placed on hold by marking it sendonly.  If the stream to be
    placed on hold was previously a recvonly media stream, it is placed on
    hold by marking it inactive."  And the older way: "RFC 2543 [10]
    specified that placing a user on hold was accomplished by setting the
    connection address to 0.0.0.0" - still sent by some phones.  A
    malformed offer is not a hold (the caller answers it with 488 anyway)."""
    try:
        sdp = parse_sdp(offer)
    except SdpError:
        return False
    audio = next((m for m in sdp.media if m.media == "audio" and m.port != 0), None)
    if audio is None:
        return False
    direction = audio.direction or sdp.direction or "sendrecv"
    address = audio.connection or sdp.connection
    return direction in ("sendonly", "inactive") or address in ("0.0.0.0", "::")


def make_offer(
    local_ip: str,
    local_port: int,
    codecs: tuple[str, ...] = ("PCMU", "PCMA", "G722"),
    *,
    telephone_event_pt: int | None = DEFAULT_TE_PT,
    direction: str = "sendrecv",
    session_id: int | None = None,
    version: int | None = None,
) -> bytes:
    """An offer for one audio stream with the codecs in our order of preference."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} must be one of {DIRECTIONS}")
    static = {name: pt for pt, name in STATIC_PT.items()}
    formats = [str(static[c.upper()]) for c in codecs]
    attrs: list[tuple[str, str | None]] = [
        ("rtpmap", f"{static[c.upper()]} {c.upper()}/8000") for c in codecs
    ]
    if telephone_event_pt is not None:
        formats.append(str(telephone_event_pt))
        attrs += [
            ("rtpmap", f"{telephone_event_pt} telephone-event/8000"),
            ("fmtp", f"{telephone_event_pt} 0-16"),
        ]
    attrs += [("ptime", "20"), (direction, None)]
    sdp = SessionDescription(
        origin=_new_origin(local_ip, session_id, version),
        connection=local_ip,
        media=[
            MediaDescription(
                media="audio", port=local_port, proto="RTP/AVP", formats=formats, attributes=attrs
            )
        ],
    )
    return serialize_sdp(sdp)


def parse_answer(answer: bytes, supported: tuple[str, ...] = ("PCMU", "PCMA", "G722")) -> Answer:
    """Read the answer to our offer. Answer.sdp is the remote answer; direction is ours."""
    sdp = parse_sdp(answer)
    wanted = {name.upper() for name in supported}
    for m in sdp.media:
        if m.media != "audio" or m.port == 0 or m.proto not in RTP_PROFILES:
            continue
        rtpmap = m.rtpmap()
        for fmt in m.formats:
            try:
                pt = int(fmt)
            except ValueError:
                continue
            name = _codec_name(pt, rtpmap)
            if name in wanted:
                assert name is not None
                remote_addr, remote_rtcp = _remote(sdp, m)
                their = m.direction or sdp.direction or "sendrecv"
                return Answer(
                    sdp=answer,
                    codec=name,
                    payload_type=pt,
                    telephone_event_pt=_telephone_event_pt(m, rtpmap),
                    remote_addr=remote_addr,
                    remote_rtcp_addr=remote_rtcp,
                    direction=ANSWER_DIRECTION[their],
                    ptime=_ptime(sdp, m),
                )
    raise NoCommonCodec("answer has no accepted audio stream with a codec we offered")


def audio_address(data: bytes) -> tuple[str, int] | None:
    """Where the first audio stream of an SDP body is to be sent, or None (rejected,
    or on hold with c=0.0.0.0). Raises SdpError."""
    sdp = parse_sdp(data)
    for m in sdp.media:
        if m.media == "audio":
            return _remote(sdp, m)[0]
    return None


def retarget(data: bytes, address: tuple[str, int]) -> bytes:
    """The same SDP with its first audio stream moved to `address` (c= and m= port);
    an a=rtcp line is dropped, so RTCP goes to port + 1 (RFC 3605 2.1 default)."""
    sdp = parse_sdp(data)
    for m in sdp.media:
        if m.media == "audio":
            m.port = address[1]
            m.connection = address[0]
            m.attributes = [a for a in m.attributes if a[0] != "rtcp"]
            break
    else:
        raise SdpError("no audio stream to retarget")
    if sdp.connection is not None:
        sdp.connection = address[0]
    return serialize_sdp(sdp)
