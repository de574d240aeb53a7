"""RFC 3550 5.1 header, A.1 sequence arithmetic, A.3 loss, A.8 jitter, 6.4 reports."""

import struct

import pytest
from aiortc.rtp import RtcpPacket, RtcpRrPacket, RtcpSrPacket
from hypothesis import given, settings
from hypothesis import strategies as st

from media.rtp import (
    LegStats,
    ReceiveStats,
    RtpError,
    build_rtcp_report,
    pack_rtp,
    parse_rtp,
    seq_diff,
    seq_newer,
    ts_diff,
)


@settings(max_examples=200, deadline=None)
@given(
    pt=st.integers(0, 127),
    seq=st.integers(0, 0xFFFF),
    ts=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    marker=st.booleans(),
    payload=st.binary(max_size=200),
)
def test_pack_then_parse_returns_every_field(pt, seq, ts, ssrc, marker, payload):
    if 64 <= pt <= 95 and marker:
        return  # RFC 5761 4: second byte 192-223 is reserved for RTCP
    pkt = parse_rtp(pack_rtp(pt, seq, ts, ssrc, payload, marker))
    assert (pkt.payload_type, pkt.sequence, pkt.timestamp, pkt.ssrc, pkt.marker, pkt.payload) == (
        pt,
        seq,
        ts,
        ssrc,
        marker,
        payload,
    )
    assert bytes(pkt) == pack_rtp(pt, seq, ts, ssrc, payload, marker)


def test_header_layout_matches_rfc3550_figure():
    data = pack_rtp(8, 0x1234, 0xDEADBEEF, 0x01020304, b"\xd5" * 3, marker=True)
    assert data[:12] == bytes.fromhex("8088 1234 deadbeef 01020304".replace(" ", ""))


def test_csrc_list_and_header_extension_are_skipped():
    # V=2, X=1, CC=2; two CSRCs; extension profile 0xBEDE, length 1 word.
    header = struct.pack("!BBHII", 0x92, 0, 7, 160, 99)
    data = header + b"\0\0\0\1\0\0\0\2" + b"\xbe\xde\x00\x01" + b"\x10\xff\0\0" + b"abc"
    pkt = parse_rtp(data)
    assert pkt.payload == b"abc"
    assert pkt.ssrc == 99


def test_padding_is_removed():
    data = bytearray(pack_rtp(0, 1, 2, 3, b"xyz" + b"\0\0\3"))
    data[0] |= 0x20
    assert parse_rtp(bytes(data)).payload == b"xyz"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\x00", "shorter than the RTP header"),
        (bytes([0x40]) + bytes(11), "RTP version 1 is not 2"),
        (bytes([0x80, 200]) + bytes(10), "RTCP packet on the RTP port"),
        (bytes([0x8F, 0]) + bytes(10), "header longer than datagram"),
    ],
)
def test_invalid_datagrams_raise_with_reason(data, reason):
    with pytest.raises(RtpError, match=reason):
        parse_rtp(data)


def test_sequence_difference_wraps_around():
    assert seq_diff(2, 65534) == 4
    assert seq_diff(65534, 2) == -4
    assert seq_newer(0, 65535)
    assert not seq_newer(65535, 0)
    assert ts_diff(100, 0xFFFFFF00) == 356


def test_receive_stats_counts_loss_across_sequence_wrap():
    stats = ReceiveStats()
    seqs = [65530 + i for i in range(12) if i not in (3, 8)]  # two lost, crossing 65535
    for n, seq in enumerate(seqs):
        stats.update(seq & 0xFFFF, n * 160, n * 0.02)
    assert stats.received == 10
    assert stats.expected == 12
    assert stats.lost == 2
    assert stats.cycles == 65536


def test_jitter_is_zero_for_perfect_pacing_and_grows_with_variation():
    steady, wobbly = ReceiveStats(), ReceiveStats()
    for i in range(100):
        steady.update(i, i * 160, i * 0.02)
        wobbly.update(i, i * 160, i * 0.02 + (0.005 if i % 2 else 0.0))
    assert steady.jitter_ms == 0.0
    # A.8: alternating 5 ms offsets converge towards 5 ms of jitter.
    assert 4.0 < wobbly.jitter_ms <= 5.0


def test_sender_report_carries_counts_and_a_reception_block():
    rx = ReceiveStats()
    for i in (0, 1, 3):
        rx.update(i, i * 160, i * 0.02)
    stats = LegStats(packets_sent=50, bytes_sent=8000)
    data = build_rtcp_report(
        ssrc=1, stats=stats, rtp_timestamp=8000, unix_time=0.5, remote_ssrc=2, receive=rx
    )
    (sr,) = RtcpPacket.parse(data)
    assert isinstance(sr, RtcpSrPacket)
    assert (sr.sender_info.packet_count, sr.sender_info.octet_count) == (50, 8000)
    (block,) = sr.reports
    assert (block.ssrc, block.packets_lost, block.highest_sequence) == (2, 1, 3)
    assert block.fraction_lost == 64  # 1 of 4 lost, in 1/256 units


def test_receiver_report_when_nothing_was_sent():
    data = build_rtcp_report(
        ssrc=1, stats=LegStats(), rtp_timestamp=0, unix_time=0.0, remote_ssrc=None, receive=None
    )
    (rr,) = RtcpPacket.parse(data)
    assert isinstance(rr, RtcpRrPacket)
    assert rr.reports == []
