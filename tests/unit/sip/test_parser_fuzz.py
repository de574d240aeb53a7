"""Hypothesis: whatever arrives, the parser raises SipParseError or nothing."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sip.errors import SipParseError
from sip.parser import StreamParser, parse_error_response, parse_message

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"
CORPUS = [p.read_bytes() for p in sorted(FIXTURES.glob("*/*.sip"))]
# Valid messages that can travel over TCP (they carry Content-Length).
STREAMABLE = [
    p.read_bytes()
    for p in sorted(FIXTURES.glob("valid/*.sip"))
    if p.stem not in ("rfc4475_inv2543", "rfc4475_dblreq")
]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that matter to the grammar, so mutations hit interesting paths.
SPECIAL = st.sampled_from(
    [
        b"\r\n",
        b"\r\n ",
        b":",
        b";",
        b",",
        b'"',
        b"\\",
        b"<",
        b">",
        b"@",
        b"?",
        b" ",
        b"\t",
        b"\x00",
        b"\xff",
        b"SIP/2.0",
        b"%",
        b"[",
        b"]",
        b"=",
        b"9" * 12,
        b"\r\n\r\n",
        b"\n",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            data[pos:pos] = draw(SPECIAL | st.binary(max_size=8))
        elif action == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        else:
            data[pos : pos + 1] = draw(SPECIAL)
    return bytes(data)


def parse_or_error(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError as err:
        assert err.reason
        assert 400 <= err.status < 600
        reply = parse_error_response(data, err)
        if reply is not None:
            # One status line, copied fields, no smuggled lines, empty body.
            assert reply.startswith(b"SIP/2.0 ")
            assert reply.endswith(b"\r\nContent-Length: 0\r\n\r\n")
            assert reply.count(b"\r\n\r\n") == 1
            assert reply.count(b"\r") == reply.count(b"\n") == reply.count(b"\r\n")
        return
    # What we accept we can serialise and read back.
    again = parse_message(message.encode())
    assert again.start_line() == message.start_line()
    assert again.body == message.body
    _ = (message.vias, message.cseq, message.from_, message.to, message.contacts)


def stream_or_error(data: bytes, cut: int) -> None:
    parser = StreamParser()
    try:
        parser.feed(data[:cut])
        while parser.next_message() is not None:
            pass
        parser.feed(data[cut:])
        while parser.next_message() is not None:
            pass
    except SipParseError as err:
        assert err.reason
        parse_error_response(parser.pending_bytes(), err)


@SETTINGS
@given(st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_sip_parse_error(data: bytes) -> None:
    parse_or_error(data)


@SETTINGS
@given(mutated())
def test_mutated_messages_raise_only_sip_parse_error(data: bytes) -> None:
    parse_or_error(data)


@SETTINGS
@given(mutated(), st.integers(0, 2000))
def test_mutated_streams_raise_only_sip_parse_error(data: bytes, cut: int) -> None:
    stream_or_error(data, cut)


@SETTINGS
@given(st.lists(st.sampled_from(STREAMABLE), min_size=1, max_size=3), st.data())
def test_any_chunking_of_a_stream_gives_the_same_messages(
    messages: list[bytes], data: st.DataObject
) -> None:
    stream = b"\r\n\r\n".join(messages)
    whole = StreamParser()
    whole.feed(stream)
    expected = []
    while (m := whole.next_message()) is not None:
        expected.append(m.encode())
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunked = StreamParser()
    got = []
    last = 0
    for cut in [*cuts, len(stream)]:
        chunked.feed(stream[last:cut])
        last = cut
        while (m := chunked.next_message()) is not None:
            got.append(m.encode())
    assert got == expected
