"""Properties over generated input: parsers fail only with their own error, the DTMF
receiver reports each event exactly once, the port allocator hands out even pairs."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media.dtmf import DIGITS, DtmfReceiver, event_packets
from media.endpoint import NoFreePort, PortAllocator, RtpEndpoint
from media.rtp import RtpError, parse_rtp
from media.sdp import SdpError, negotiate

SDP_LINES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "o=- 1 1 IN IP4 10.0.0.1",
                "c=IN IP4 10.0.0.2",
                "c=IN IP6 ::1",
                "m=audio 4000 RTP/AVP 0 8 101",
                "m=audio 0 RTP/AVP 0",
                "m=video 5000 RTP/AVP 99",
                "a=rtpmap:101 telephone-event/8000",
                "a=rtpmap:0 PCMU",
                "a=rtpmap:x y",
                "a=sendonly",
                "a=inactive",
                "a=ptime:abc",
                "a=rtcp:nope",
                "t=0 0",
            ]
        ),
        st.text(alphabet="vocmat=:/ 0123456789AIPRTVxyz.", max_size=30),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(SDP_LINES)
def test_negotiate_raises_only_sdp_errors_on_arbitrary_offers(lines):
    body = "\r\n".join(["v=0", *lines]).encode()
    try:
        answer = negotiate(body, "192.0.2.1", 4000)
    except SdpError:
        return
    assert answer.codec in ("PCMU", "PCMA", "G722")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_parse_rtp_raises_only_rtp_error(data):
    try:
        parse_rtp(data)
    except RtpError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    digits=st.lists(st.sampled_from(DIGITS), min_size=1, max_size=8),
    duplicate=st.lists(st.booleans(), min_size=8 * 8, max_size=8 * 8),
)
def test_receiver_reports_each_event_once_despite_duplicates(digits, duplicate):
    rx = DtmfReceiver()
    heard = []
    flips = iter(duplicate)
    for n, digit in enumerate(digits):
        for packet in event_packets(digit):
            copies = 2 if next(flips, False) else 1
            for _ in range(copies):
                heard += rx.feed(1000 + 800 * n, packet.payload)
    assert heard == digits


def test_port_allocator_cycles_through_even_ports_and_skips_ports_in_use():
    alloc = PortAllocator(10001, 10008)
    assert list(alloc.candidates()) == [10002, 10004, 10006]
    alloc.taken(10002)
    assert list(alloc.candidates()) == [10004, 10006]
    alloc.taken(10006)
    alloc.release(10002)
    assert list(alloc.candidates()) == [10002, 10004]


def test_port_allocator_rejects_bad_ranges():
    with pytest.raises(ValueError, match="port range"):
        PortAllocator(100, 200)


async def test_no_free_port_when_the_range_is_exhausted():
    alloc = PortAllocator(37000, 37002)
    endpoint = await RtpEndpoint.open("127.0.0.1", alloc)
    with pytest.raises(NoFreePort, match="no free RTP port pair in 37000-37002"):
        await RtpEndpoint.open("127.0.0.1", alloc)
    endpoint.close()
    await asyncio.sleep(0)  # asyncio closes the sockets on the next loop iteration
    again = await RtpEndpoint.open("127.0.0.1", alloc)
    assert again.port == 37000
    again.close()
    await asyncio.sleep(0)
