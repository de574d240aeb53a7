"""RFC 4566 parsing and RFC 3264 offer/answer against offers in the style of real phones."""

from pathlib import Path

import pytest

from media.sdp import (
    NoCommonCodec,
    SdpError,
    holds,
    make_offer,
    negotiate,
    parse_answer,
    parse_sdp,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sdp"


def offer(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# file, codec, pt, telephone-event pt, remote address, our direction, ptime
NEGOTIATION_TABLE = [
    ("polycom_vvx_g722.sdp", "G722", 9, 127, ("192.168.1.21", 2222), "sendrecv", 20),
    ("yealink_t46_pcmu.sdp", "PCMU", 0, 101, ("10.0.0.45", 11780), "sendrecv", 20),
    ("linphone_opus_first.sdp", "PCMU", 0, 101, ("192.168.0.12", 7078), "sendrecv", 20),
    ("zoiper_pcma.sdp", "PCMA", 8, 101, ("172.16.5.9", 8000), "sendrecv", 20),
    ("baresip_rtcp_attr.sdp", "G722", 9, 101, ("10.1.2.3", 10000), "sendrecv", 20),
    ("pjsua_many_codecs.sdp", "PCMU", 0, 121, ("127.0.0.1", 4000), "sendrecv", 20),
    ("static_pt_no_rtpmap.sdp", "PCMA", 8, None, ("198.51.100.7", 30000), "sendrecv", 20),
    ("hold_sendonly.sdp", "PCMU", 0, 101, ("10.0.0.45", 11780), "recvonly", 20),
    ("hold_recvonly.sdp", "PCMA", 8, 101, ("10.0.0.45", 11780), "sendonly", 20),
    ("hold_inactive_session_level.sdp", "PCMA", 8, 101, ("172.16.5.9", 8000), "inactive", 20),
    ("hold_rfc2543_c0.sdp", "PCMU", 0, None, None, "sendrecv", 20),
    ("video_then_audio.sdp", "PCMA", 8, 101, ("192.168.1.50", 9076), "sendrecv", 30),
    ("audio_port0_then_audio.sdp", "PCMU", 0, None, ("192.168.1.61", 6000), "sendrecv", 20),
]


@pytest.mark.parametrize(
    ("name", "codec", "pt", "te", "remote", "direction", "ptime"), NEGOTIATION_TABLE
)
def test_negotiation_table(name, codec, pt, te, remote, direction, ptime):
    answer = negotiate(offer(name), "203.0.113.5", 40000)
    assert (answer.codec, answer.payload_type, answer.telephone_event_pt) == (codec, pt, te)
    assert answer.remote_addr == remote
    assert answer.direction == direction
    assert answer.ptime == ptime
    # The answer itself: same number of m lines, our stream with our address and port.
    offered, answered = parse_sdp(offer(name)), parse_sdp(answer.sdp)
    assert len(answered.media) == len(offered.media)
    ours = [m for m in answered.media if m.port != 0]
    assert len(ours) == 1
    assert ours[0].formats == [str(pt)] + ([str(te)] if te is not None else [])
    assert ours[0].direction == direction
    assert answered.connection == "203.0.113.5"


@pytest.mark.parametrize("name", ["g729_only.sdp", "srtp_only.sdp"])
def test_offer_without_common_codec_raises_no_common_codec(name):
    with pytest.raises(NoCommonCodec, match="no common codec"):
        negotiate(offer(name), "203.0.113.5", 40000)


def test_supported_list_limits_the_choice():
    answer = negotiate(offer("polycom_vvx_g722.sdp"), "203.0.113.5", 40000, supported=("PCMA",))
    assert answer.codec == "PCMA"
    with pytest.raises(NoCommonCodec):
        negotiate(offer("zoiper_pcma.sdp"), "203.0.113.5", 40000, supported=("G722",))


def test_rejected_streams_keep_port_zero():
    answer = parse_sdp(negotiate(offer("video_then_audio.sdp"), "203.0.113.5", 40000).sdp)
    assert [(m.media, m.port) for m in answer.media] == [("video", 0), ("audio", 40000)]


def test_rtcp_attribute_gives_the_remote_rtcp_port():
    assert negotiate(offer("baresip_rtcp_attr.sdp"), "h", 2).remote_rtcp_addr == (
        "10.1.2.3",
        10003,
    )
    assert negotiate(offer("zoiper_pcma.sdp"), "h", 2).remote_rtcp_addr == ("172.16.5.9", 8001)


def test_answer_text_is_well_formed():
    answer = negotiate(
        offer("yealink_t46_pcmu.sdp"), "203.0.113.5", 40000, session_id=77, version=3
    )
    assert answer.sdp == (
        b"v=0\r\no=jono 77 3 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\n"
        b"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.sdp")))
def test_fixture_parse_serialize_parse_is_stable(name):
    from media.sdp import serialize_sdp

    once = serialize_sdp(parse_sdp(offer(name)))
    assert serialize_sdp(parse_sdp(once)) == once


def test_make_offer_then_parse_answer():
    sdp = make_offer("198.51.100.1", 30000, ("PCMA", "PCMU"), session_id=1, version=1)
    parsed = parse_sdp(sdp)
    (m,) = parsed.media
    assert m.formats == ["8", "0", "101"]
    assert m.direction == "sendrecv"
    remote = negotiate(sdp, "192.0.2.9", 5000, supported=("PCMU", "PCMA"))
    assert remote.codec == "PCMA"
    got = parse_answer(remote.sdp)
    assert (got.codec, got.payload_type, got.telephone_event_pt) == ("PCMA", 8, 101)
    assert got.remote_addr == ("192.0.2.9", 5000)


def test_hold_offer_answered_recvonly_reads_back_as_sendonly_for_us():
    sdp = make_offer("198.51.100.1", 30000, direction="sendonly")
    remote = negotiate(sdp, "192.0.2.9", 5000)
    assert remote.direction == "recvonly"
    assert parse_answer(remote.sdp).direction == "sendonly"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "must start with v="),
        (b"v=1\r\n", "unsupported SDP version"),
        (b"v=0\r\nbogus\r\n", "bad SDP line 'bogus'"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\nm=audio x RTP/AVP 0\r\n", "bad port in m= line"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP9 1.2.3.4\r\n", "bad c= line"),
        (b"v=0\r\ns=-\r\n", "no o= line"),
    ],
)
def test_malformed_sdp_errors_name_the_problem(data, message):
    with pytest.raises(SdpError, match=message):
        parse_sdp(data)


# -- RFC 3264 §8.4: holding a stream ----------------------------------------------
def _offer(direction: str | None, address: str = "127.0.0.1") -> bytes:
    attr = f"a={direction}\r\n" if direction else ""
    return (
        f"v=0\r\no=p 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
        f"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n{attr}"
    ).encode()


@pytest.mark.parametrize(
    ("direction", "address", "held"),
    [
        ("sendonly", "127.0.0.1", True),
        ("inactive", "127.0.0.1", True),
        (None, "0.0.0.0", True),  # RFC 2543 hold
        ("sendrecv", "127.0.0.1", False),
        (None, "127.0.0.1", False),
        ("recvonly", "127.0.0.1", False),
    ],
)
def test_hold_is_sendonly_inactive_or_address_zero(
    direction: str | None, address: str, held: bool
) -> None:
    assert holds(_offer(direction, address)) is held


def test_malformed_offer_is_not_a_hold() -> None:
    assert not holds(b"garbage")
