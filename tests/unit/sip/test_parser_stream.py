"""StreamParser: RFC 3261 §18.3 framing over TCP, RFC 5626 §3.5.1 keep-alives."""

from __future__ import annotations

from pathlib import Path

import pytest

from sip.errors import SipParseError
from sip.message import Request, Response
from sip.parser import MAX_MESSAGE, StreamParser, parse_message

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"


def load(name: str) -> bytes:
    return (FIXTURES / "valid" / f"{name}.sip").read_bytes()


INVITE = load("invite_sdp_deskphone")
OK = load("resp_200_ok_sdp")
BYE = load("bye")


def drain(parser: StreamParser) -> list[Request | Response]:
    out: list[Request | Response] = []
    while (message := parser.next_message()) is not None:
        out.append(message)
    return out


def feed_bytewise(data: bytes) -> tuple[list[Request | Response], StreamParser]:
    parser = StreamParser()
    out: list[Request | Response] = []
    for i in range(len(data)):
        parser.feed(data[i : i + 1])
        out.extend(drain(parser))
    return out, parser


def summary(messages: list[Request | Response]) -> list[bytes]:
    return [m.encode() for m in messages]


def test_one_message_in_one_segment() -> None:
    parser = StreamParser()
    parser.feed(INVITE)
    (message,) = drain(parser)
    assert message.encode() == parse_message(INVITE).encode()
    assert parser.pending_bytes() == b""


def test_two_messages_in_one_segment_come_out_in_order() -> None:
    parser = StreamParser()
    parser.feed(INVITE + OK)
    messages = drain(parser)
    assert [type(m) for m in messages] == [Request, Response]
    assert summary(messages) == [parse_message(INVITE).encode(), parse_message(OK).encode()]


def test_feeding_one_byte_at_a_time_gives_the_same_messages() -> None:
    stream = INVITE + b"\r\n\r\n" + OK + b"\r\n" + BYE
    whole = StreamParser()
    whole.feed(stream)
    expected = drain(whole)
    bytewise, parser = feed_bytewise(stream)
    assert len(expected) == 3
    assert summary(bytewise) == summary(expected)
    assert parser.pings_received == whole.pings_received == 1


def test_incomplete_body_waits_for_more_bytes() -> None:
    parser = StreamParser()
    parser.feed(INVITE[:-10])
    assert parser.next_message() is None
    assert parser.pending_bytes() == INVITE[:-10]
    parser.feed(INVITE[-10:])
    message = parser.next_message()
    assert isinstance(message, Request)
    assert message.body.endswith(b"a=sendrecv\r\n")


def test_double_crlf_between_messages_counts_as_a_ping() -> None:
    parser = StreamParser()
    parser.feed(b"\r\n\r\n\r\n\r\n" + BYE)
    assert len(drain(parser)) == 1
    assert parser.pings_received == 2


def test_ping_alone_is_counted_and_the_counter_can_be_reset() -> None:
    parser = StreamParser()
    parser.feed(b"\r\n\r\n")
    assert parser.next_message() is None
    assert parser.pings_received == 1
    parser.pings_received = 0
    parser.feed(b"\r\n")
    assert parser.next_message() is None
    assert parser.pings_received == 0
    parser.feed(b"\r\n")
    assert parser.next_message() is None
    assert parser.pings_received == 1


def test_single_crlf_before_a_message_is_ignored_not_a_ping() -> None:
    parser = StreamParser()
    parser.feed(b"\r\n" + BYE)
    assert len(drain(parser)) == 1
    assert parser.pings_received == 0


def test_stream_requires_content_length() -> None:
    data = load("rfc4475_inv2543")
    parser = StreamParser()
    parser.feed(data)
    with pytest.raises(SipParseError) as info:
        parser.next_message()
    assert info.value.reason == "missing Content-Length on a stream transport"


def test_error_is_sticky_and_pending_bytes_hold_the_bad_message() -> None:
    bad = (FIXTURES / "invalid" / "rfc4475_mismatch01.sip").read_bytes()
    parser = StreamParser()
    parser.feed(b"\r\n" + bad)
    with pytest.raises(SipParseError) as first:
        parser.next_message()
    with pytest.raises(SipParseError) as second:
        parser.next_message()
    assert first.value is second.value
    assert parser.pending_bytes() == bad


def test_header_block_larger_than_limit_is_refused() -> None:
    parser = StreamParser()
    parser.feed(b"OPTIONS sip:a@b SIP/2.0\r\nX-Pad: " + b"a" * MAX_MESSAGE)
    with pytest.raises(SipParseError) as info:
        parser.next_message()
    assert info.value.reason == "header block larger than 65536 bytes"


def test_content_length_larger_than_limit_is_refused_before_the_body_arrives() -> None:
    head = BYE.replace(b"Content-Length: 0", b"Content-Length: 70000")
    parser = StreamParser()
    parser.feed(head)
    with pytest.raises(SipParseError) as info:
        parser.next_message()
    assert info.value.reason == "message larger than 65536 bytes"
    assert info.value.status == 513


def test_large_header_block_fed_bytewise_parses() -> None:
    pad = b"X-Pad: " + b"p" * 100 + b"\r\n"
    message = BYE.replace(b"Content-Length: 0\r\n", pad * 200 + b"Content-Length: 0\r\n")
    messages, _ = feed_bytewise(message)
    assert len(messages) == 1
    assert len(messages[0].headers.get_all("X-Pad")) == 200
