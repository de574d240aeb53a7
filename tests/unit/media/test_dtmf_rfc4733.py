"""RFC 4733 telephone-event payloads, receiver dedup, sender sequence, SIP INFO bodies."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media.dtmf import (
    DtmfError,
    DtmfReceiver,
    TelephoneEvent,
    build_telephone_event,
    event_packets,
    parse_dtmf_relay,
    parse_telephone_event,
)

# RFC 4733 2.3 layout, built by hand: event 5, E=0, volume 10, duration 160.
DIGIT_5_START = bytes([5, 0x0A, 0x00, 0xA0])
DIGIT_5_END = bytes([5, 0x80 | 0x0A, 0x03, 0x20])  # E=1, duration 800 (100 ms)
HASH_END_WITH_R_BIT = bytes([11, 0x80 | 0x40 | 0x07, 0x01, 0x40])


def test_parse_start_and_end_packets_of_digit_5():
    assert parse_telephone_event(DIGIT_5_START) == TelephoneEvent(
        event=5, end=False, volume=10, duration=160
    )
    end = parse_telephone_event(DIGIT_5_END)
    assert (end.digit, end.end, end.duration) == ("5", True, 800)


def test_reserved_r_bit_is_ignored_and_hash_is_event_11():
    ev = parse_telephone_event(HASH_END_WITH_R_BIT)
    assert (ev.digit, ev.end, ev.volume, ev.duration) == ("#", True, 7, 320)


def test_short_payload_is_rejected():
    with pytest.raises(DtmfError, match="payload of 3 bytes, need 4"):
        parse_telephone_event(b"\x05\x0a\x00")


@settings(max_examples=200, deadline=None)
@given(
    event=st.integers(0, 255),
    end=st.booleans(),
    volume=st.integers(0, 63),
    duration=st.integers(0, 0xFFFF),
)
def test_build_then_parse_round_trips(event, end, volume, duration):
    payload = build_telephone_event(event, end=end, volume=volume, duration=duration)
    assert parse_telephone_event(payload) == TelephoneEvent(
        event=event, end=end, volume=volume, duration=duration
    )


def test_receiver_reports_digit_once_for_three_end_packets():
    rx = DtmfReceiver()
    results = [rx.feed(8000, p) for p in (DIGIT_5_START, DIGIT_5_START, DIGIT_5_END)]
    results += [rx.feed(8000, DIGIT_5_END), rx.feed(8000, DIGIT_5_END)]
    assert results == [[], [], ["5"], [], []]


def test_same_digit_twice_is_two_events_when_timestamps_differ():
    rx = DtmfReceiver()
    digits = []
    for ts in (8000, 16000):
        for p in (DIGIT_5_START, DIGIT_5_END, DIGIT_5_END, DIGIT_5_END):
            digits += rx.feed(ts, p)
    assert digits == ["5", "5"]


def test_event_whose_end_packets_were_all_lost_is_reported_when_next_begins():
    rx = DtmfReceiver()
    assert rx.feed(8000, DIGIT_5_START) == []
    hash_start = build_telephone_event(11, end=False, volume=10, duration=160)
    assert rx.feed(9600, hash_start) == ["5"]
    assert rx.feed(9600, HASH_END_WITH_R_BIT) == ["#"]


def test_receiver_ignores_garbage():
    assert DtmfReceiver().feed(1, b"\x01") == []


def test_sender_sequence_for_100ms_digit():
    packets = event_packets("9", duration_ms=100)
    events = [parse_telephone_event(p.payload) for p in packets]
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert [p.marker for p in packets] == [True] + [False] * 6
    assert {e.digit for e in events} == {"9"}


def test_sender_then_receiver_yields_the_digit():
    rx = DtmfReceiver()
    digits = [d for p in event_packets("*") for d in rx.feed(4242, p.payload)]
    assert digits == ["*"]


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        (b"Signal=5\r\nDuration=160\r\n", "5"),
        (b"Signal= 1\nDuration= 250\n", "1"),
        (b"signal=*\r\nduration=100", "*"),
        (b"Signal=#\r\n", "#"),
        (b"Signal=10\r\nDuration=160", "*"),
        (b"Signal=11\r\nDuration=160", "#"),
        (b"Signal=a", "A"),
        (b"Duration=160\r\n", None),
        (b"Signal=X\r\n", None),
        (b"", None),
        (b"\xff\xfe", None),
    ],
)
def test_sip_info_dtmf_relay_body(body, digit):
    assert parse_dtmf_relay(body) == digit


def test_a_second_event_on_the_same_timestamp_after_an_end_is_a_new_digit() -> None:
    from media.dtmf import DtmfReceiver, build_telephone_event

    receiver = DtmfReceiver()
    got: list[str] = []
    for end, duration in [(False, 160), (False, 320), (True, 800), (True, 800), (True, 800)]:
        got += receiver.feed(1000, build_telephone_event(1, end=end, volume=10, duration=duration))
    # The same key again, on the same timestamp (the sender's clock did not move).
    for end, duration in [(False, 160), (True, 800), (True, 800)]:
        got += receiver.feed(1000, build_telephone_event(1, end=end, volume=10, duration=duration))
    assert got == ["1", "1"]
