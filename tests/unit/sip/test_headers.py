"""Structured header views (sip.headers): RFC 3261 §7.3.1, §19.1, §20, §25.1."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.errors import SipParseError
from sip.headers import CSeq, SipUri, Via, parse_name_addr, parse_params, split_header_values
from sip.message import Headers, canonical_name

# -- §7.3.1 comma-separated values --------------------------------------------


@pytest.mark.parametrize(
    ("line", "values"),
    [
        ("INVITE, ACK ,BYE", ["INVITE", "ACK", "BYE"]),
        ("a,,b,", ["a", "b"]),
        ('"Doe, John" <sip:j@x>, <sip:k@y>', ['"Doe, John" <sip:j@x>', "<sip:k@y>"]),
        ("<sip:a@x;p=1,2>;q=1, <sip:b@y>", ["<sip:a@x;p=1,2>;q=1", "<sip:b@y>"]),
        ('"esc \\" , still" <sip:a@x>', ['"esc \\" , still" <sip:a@x>']),
        ('"unterminated, quote', ['"unterminated, quote']),
        ("", []),
    ],
)
def test_split_header_values_only_at_top_level_commas(line: str, values: list[str]) -> None:
    assert split_header_values(line) == values


def test_params_keep_quoted_semicolons_and_lower_case_names() -> None:
    assert parse_params(';Tag=abc;lr;X="a;b" ;;q = 0.5') == {
        "tag": "abc",
        "lr": None,
        "x": "a;b",
        "q": "0.5",
    }


# -- §19.1 SIP URIs ----------------------------------------------------------


def test_uri_user_part_may_hold_question_mark_semicolon_and_comma() -> None:
    uri = SipUri.parse("sip:a?b;c,d@example.com;transport=tcp?Subject=x")
    assert uri.user == "a?b;c,d"
    assert uri.host == "example.com"
    assert uri.params == {"transport": "tcp"}
    assert uri.headers == "Subject=x"


def test_uri_round_trips() -> None:
    text = "sips:alice:secret@[2001:db8::1]:5061;transport=tls;lr?h=1"
    uri = SipUri.parse(text)
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips",
        "alice",
        "secret",
        "[2001:db8::1]",
        5061,
    )
    assert str(uri) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("example.com", "bad URI 'example.com': no scheme"),
        ("http://x", "unsupported URI scheme 'http'"),
        ("sip:user@", "bad URI 'sip:user@': no host"),
        ("sip:host:0", "bad port in 'host:0'"),
        ("sip:host:99999", "bad port in 'host:99999'"),
        ("sip:host:5٠6", "bad port in 'host:5٠6'"),
        ("sip:[::1", "bad IPv6 reference '[::1'"),
    ],
)
def test_bad_uri_reasons(text: str, reason: str) -> None:
    with pytest.raises(SipParseError) as info:
        SipUri.parse(text)
    assert info.value.reason == reason


# -- §20.10 / §25.1 name-addr ------------------------------------------------


def test_name_addr_with_quoted_pairs() -> None:
    addr = parse_name_addr(r'"A \"B\" \\ C" <sip:a@x>;tag=1')
    assert addr.display == 'A "B" \\ C'
    assert addr.tag == "1"
    assert parse_name_addr(str(addr)) == addr


def test_unquoted_display_name_tolerates_utf8_and_at_sign() -> None:
    addr = parse_name_addr("Jörg Müller @ Sales <sip:jm@x>;tag=1")
    assert addr.display == "Jörg Müller @ Sales"
    assert addr.uri == "sip:jm@x"


def test_addr_spec_parameters_are_header_parameters() -> None:
    addr = parse_name_addr("sip:a@x;tag=7;user=phone")
    assert addr.uri == "sip:a@x"
    assert addr.params == {"tag": "7", "user": "phone"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty address"),
        ('"open <sip:a@x>', "unterminated quoted display name in '\"open <sip:a@x>'"),
        ("<sip:a@x", "missing '>' in '<sip:a@x'"),
        ("< sip:a@x>", "whitespace inside '<>' in '< sip:a@x>'"),
        ("Doe, John <sip:a@x>", "unquoted display name 'Doe, John' needs quotes"),
        ('"A" b <sip:a@x>', "text between display name and '<' in '\"A\" b <sip:a@x>'"),
        ("sip:a@x?h=1", "URI with '?' or ',' must be enclosed in '<>' in 'sip:a@x?h=1'"),
        ("nothing", "bad address 'nothing'"),
    ],
)
def test_bad_name_addr_reasons(text: str, reason: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_name_addr(text)
    assert info.value.reason == reason


# -- §20.42 Via, §20.16 CSeq ---------------------------------------------------


def test_via_allows_lws_around_slashes() -> None:
    via = Via.parse("SIP / 2.0 / tcp  host.example.com:5070 ; branch = z9hG4bK1 ; rport")
    assert (via.transport, via.host, via.port, via.branch) == (
        "TCP",
        "host.example.com",
        5070,
        "z9hG4bK1",
    )
    assert via.params["rport"] is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1 INVITE extra", "bad CSeq '1 INVITE extra'"),
        ("-1 INVITE", "bad CSeq '-1 INVITE'"),
        ("١ INVITE", "bad CSeq '١ INVITE'"),
        ("2147483648 INVITE", "CSeq number out of range in '2147483648 INVITE'"),
        ("9" * 5000 + " INVITE", "CSeq number out of range in '" + "9" * 5000 + " INVITE'"),
    ],
)
def test_bad_cseq_reasons(text: str, reason: str) -> None:
    with pytest.raises(SipParseError) as info:
        CSeq.parse(text)
    assert info.value.reason == reason


def test_cseq_leading_zeros_are_allowed() -> None:
    assert CSeq.parse("0009 INVITE") == CSeq(number=9, method="INVITE")
    assert CSeq.parse("2147483647 ACK").number == 2**31 - 1


# -- §7.3.3 compact forms and the Headers list ---------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("i", "Call-ID"),
        ("V", "Via"),
        ("l", "Content-Length"),
        ("cseq", "CSeq"),
        ("www-authenticate", "WWW-Authenticate"),
        ("x-my-header", "X-My-Header"),
    ],
)
def test_canonical_names(raw: str, canonical: str) -> None:
    assert canonical_name(raw) == canonical


def test_headers_pop_first_value_takes_the_top_via() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a, SIP/2.0/UDP b"), ("Via", "SIP/2.0/UDP c")])
    assert headers.pop_first_value("Via") == "SIP/2.0/UDP a"
    assert headers.values("via") == ["SIP/2.0/UDP b", "SIP/2.0/UDP c"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_header_helpers_raise_only_sip_parse_error(text: str) -> None:
    split_header_values(text)
    parse_params(text)
    for parse in (SipUri.parse, Via.parse, CSeq.parse, parse_name_addr):
        try:
            parse(text)
        except SipParseError:
            pass


# -- §7.3.1 / §7.3.3 name matching with the cached keys -------------------------


def test_unknown_names_match_whatever_their_case() -> None:
    headers = Headers([("X-FOO", "1")])
    headers.add("x-foo", "2")
    assert "X-Foo" in headers
    assert headers.get_all("x-FOO") == ["1", "2"]
    headers.remove("X-foo")
    assert "x-foo" not in headers
    assert len(headers) == 0


def test_compact_and_long_names_find_the_same_fields() -> None:
    headers = Headers([("i", "abc"), ("VIA", "SIP/2.0/UDP a")])
    assert headers.get("Call-ID") == "abc"
    assert headers.get("v") == "SIP/2.0/UDP a"
    assert list(headers) == [("Call-ID", "abc"), ("Via", "SIP/2.0/UDP a")]


def test_set_prepend_and_pop_keep_order_and_lookups_consistent() -> None:
    headers = Headers([("X-A", "1"), ("Via", "v1"), ("X-B", "2"), ("via", "v2")])
    headers.prepend("v", "v0")
    assert headers.values("Via") == ["v0", "v1", "v2"]
    headers.set("Via", "only")
    assert list(headers) == [("X-A", "1"), ("Via", "only"), ("X-B", "2")]
    assert headers.pop_first_value("via") == "only"
    assert "Via" not in headers
    assert headers.get("x-b") == "2"
    copy = headers.copy()
    copy.add("X-C", "3")
    assert "X-C" not in headers
    assert copy.get("x-c") == "3"


def test_parsed_views_are_cached_but_failures_are_not() -> None:
    text = '"A" <sip:a@example.com>;tag=1'
    assert parse_name_addr(text) is parse_name_addr(text)
    assert Via.parse("SIP/2.0/UDP h;branch=z9hG4bKx").branch == "z9hG4bKx"
    for _ in range(2):
        with pytest.raises(SipParseError):
            parse_name_addr("<sip:a@example.com")
