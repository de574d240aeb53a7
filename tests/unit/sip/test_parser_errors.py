"""Size bounds, odd bytes, and the stateless response to a bad request."""

from __future__ import annotations

from pathlib import Path

import pytest

from sip import parser
from sip.errors import SipParseError
from sip.message import Request
from sip.parser import MAX_HEADERS, MAX_LINE, MAX_MESSAGE, parse_error_response, parse_message

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"
BYE = (FIXTURES / "valid" / "bye.sip").read_bytes()


def load_invalid(name: str) -> bytes:
    return (FIXTURES / "invalid" / f"{name}.sip").read_bytes()


def reason_of(data: bytes) -> str:
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    return info.value.reason


def with_extra_headers(extra: bytes) -> bytes:
    return BYE.replace(b"Content-Length: 0\r\n", extra + b"Content-Length: 0\r\n")


# -- RFC 3261 §18.1.1 / our bounds --------------------------------------------


def test_datagram_larger_than_64_kib_is_refused_with_513() -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(BYE + b"x" * MAX_MESSAGE)
    assert info.value.reason == "message larger than 65536 bytes"
    assert info.value.status == 513


def test_line_longer_than_8_kib_is_refused() -> None:
    data = with_extra_headers(b"X-Long: " + b"a" * MAX_LINE + b"\r\n")
    assert reason_of(data) == "line longer than 8192 bytes"


def test_line_of_exactly_8_kib_is_accepted() -> None:
    value = b"a" * (MAX_LINE - len(b"X-Long: "))
    message = parse_message(with_extra_headers(b"X-Long: " + value + b"\r\n"))
    assert message.headers.get("X-Long") == value.decode()


def test_more_than_256_header_fields_are_refused() -> None:
    data = with_extra_headers(b"X-N: 1\r\n" * MAX_HEADERS)
    assert reason_of(data) == "more than 256 header fields"


def test_folded_lines_do_not_count_as_header_fields() -> None:
    data = with_extra_headers(b"X-Folded: a\r\n" + b" b\r\n" * (MAX_HEADERS + 10))
    message = parse_message(data)
    assert message.headers.get("X-Folded") == "a" + " b" * (MAX_HEADERS + 10)


def test_leading_crlfs_before_the_start_line_are_ignored() -> None:
    message = parse_message(b"\r\n\r\n" + BYE)
    assert isinstance(message, Request)
    assert message.method == "BYE"


def test_datagram_without_content_length_takes_the_rest_as_body() -> None:
    data = BYE.replace(b"Content-Length: 0\r\n", b"") + b"hello"
    assert parse_message(data).body == b"hello"


def test_body_longer_than_content_length_is_truncated_over_udp() -> None:
    assert parse_message(BYE + b"trailing junk").body == b""


def test_content_length_with_leading_zeros_is_a_number() -> None:
    data = BYE.replace(b"Content-Length: 0", b"Content-Length: 0003") + b"abcdef"
    assert parse_message(data).body == b"abc"


def test_non_utf8_header_bytes_survive_a_round_trip() -> None:
    data = with_extra_headers(b"X-Latin1: caf\xe9 \xff\xfe\r\n")
    message = parse_message(data)
    assert message.encode() == data


def test_non_utf8_bytes_in_request_uri_are_a_parse_error() -> None:
    data = BYE.replace(b"sip:101@192.0.2.41:5060 SIP", b"sip:1\xff1@192.0.2.41 SIP", 1)
    assert reason_of(data) == "bad Request-URI 'sip:1\\udcff1@192.0.2.41'"


def test_tel_request_uri_is_accepted() -> None:
    data = BYE.replace(b"BYE sip:101@192.0.2.41:5060", b"BYE tel:+358401234567", 1)
    message = parse_message(data)
    assert isinstance(message, Request)
    assert message.uri == "tel:+358401234567"


def test_lower_case_sip_version_is_accepted() -> None:
    message = parse_message(BYE.replace(b" SIP/2.0\r\n", b" sip/2.0\r\n", 1))
    assert message.start_line() == "BYE sip:101@192.0.2.41:5060 SIP/2.0"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (b"Max-Forwards: 256\r\n", "more than one Max-Forwards header field"),
        (b"To: <sip:x@example.com>\r\n", "more than one To header field"),
        (b"Via: \r\n", "empty Via"),
        (b"Contact: <sip:a@b\r\n", "bad Contact: missing '>' in '<sip:a@b'"),
        (b"Content-Length: x\r\n", "bad Content-Length 'x'"),
        (b"Record-Route: <sip:p1;lr>, <sip:p2\r\n", "bad Record-Route: missing '>' in '<sip:p2'"),
        (b"Route: <sip:p1;lr>, junk\r\n", "bad Route: bad address 'junk'"),
    ],
)
def test_bad_extra_header_fields(extra: bytes, reason: str) -> None:
    assert reason_of(with_extra_headers(extra)) == reason


def test_a_rejected_line_is_rejected_again_after_good_lines_were_cached() -> None:
    good = with_extra_headers(b"Contact: <sip:a@192.0.2.1>\r\n")
    bad = with_extra_headers(b"Contact: <sip:a@192.0.2.1\r\n")
    for _ in range(2):
        parse_message(good)
        assert reason_of(bad) == "bad Contact: missing '>' in '<sip:a@192.0.2.1'"


def test_checked_line_cache_stays_bounded() -> None:
    for i in range(parser._CHECKED_LIMIT + 10):
        parse_message(with_extra_headers(f"Contact: <sip:u{i}@192.0.2.1>\r\n".encode()))
    assert len(parser._CHECKED) <= parser._CHECKED_LIMIT


def test_max_forwards_above_255_is_refused() -> None:
    data = BYE.replace(b"Max-Forwards: 70", b"Max-Forwards: 256")
    assert reason_of(data) == "bad Max-Forwards '256'"


def test_status_code_out_of_class_range_is_refused() -> None:
    data = b"SIP/2.0 700 Nope\r\n" + BYE.split(b"\r\n", 1)[1]
    assert reason_of(data) == "bad status code '700'"


def test_contact_star_is_accepted() -> None:
    message = parse_message(with_extra_headers(b"Contact: *\r\nExpires: 0\r\n"))
    assert message.contacts == []


# -- parse_error_response -------------------------------------------------------


def test_error_response_copies_the_request_fields_and_reason() -> None:
    data = load_invalid("rfc4475_mismatch01")
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    reply = parse_error_response(data, info.value)
    assert reply is not None
    assert reply.startswith(
        b"SIP/2.0 400 CSeq method 'INVITE' does not match request method 'OPTIONS'\r\n"
    )
    response = parse_message(reply)
    assert response.call_id == "mismatch01.dj0234sxdfl3"
    assert response.headers.get("CSeq") == "8 INVITE"
    assert response.top_via.branch == "z9hG4bKkdjuw"
    assert response.from_.tag == "34525"
    assert response.to.tag is not None
    assert response.body == b""


def test_error_response_to_tag_is_the_same_for_a_retransmission() -> None:
    data = load_invalid("rfc4475_mismatch01")
    err = SipParseError("x")
    assert parse_error_response(data, err) == parse_error_response(data, err)


def test_error_response_keeps_an_existing_to_tag() -> None:
    data = load_invalid("rfc4475_lwsruri")
    reply = parse_error_response(data, SipParseError("bad"))
    assert reply is not None
    assert parse_message(reply).to.tag == "3xfe-9921883-z9f"


def test_error_response_uses_the_status_of_the_error() -> None:
    data = load_invalid("rfc4475_badvers")
    reply = parse_error_response(data, SipParseError("unsupported SIP version 'SIP/7.0'", 505))
    assert reply is not None
    assert reply.startswith(b"SIP/2.0 505 unsupported SIP version 'SIP/7.0'\r\n")
    assert b"\r\nVia: SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n" in reply


def test_error_response_keeps_all_vias_in_order() -> None:
    data = load_invalid("rfc4475_badinv01")
    reply = parse_error_response(data, SipParseError("bad Via ';'"))
    assert reply is not None
    assert reply.count(b"\r\nVia: ") == 1
    assert b"\r\nVia: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n" in reply


def test_no_error_response_without_the_fields_to_route_it() -> None:
    assert parse_error_response(load_invalid("rfc4475_insuf"), SipParseError("x")) is None


def test_no_error_response_to_a_response() -> None:
    assert parse_error_response(load_invalid("rfc4475_bigcode"), SipParseError("x")) is None


def test_no_error_response_to_an_ack() -> None:
    ack = (FIXTURES / "valid" / "ack.sip").read_bytes()
    assert parse_error_response(ack, SipParseError("x")) is None


def test_error_response_reason_is_one_safe_ascii_line() -> None:
    data = load_invalid("rfc4475_mismatch01")
    reply = parse_error_response(data, SipParseError("bad \r\nX: y\x00 ∂"))
    assert reply is not None
    assert reply.split(b"\r\n", 1)[0] == b"SIP/2.0 400 bad ??X: y? \\u2202"


def test_no_error_response_for_garbage() -> None:
    assert parse_error_response(b"\x00\x01garbage", SipParseError("x")) is None
