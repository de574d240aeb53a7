"""The wire corpus: tests/fixtures/sip/{valid,invalid}/*.sip (RFC 3261 §7, RFC 4475)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sip.errors import SipParseError
from sip.headers import SipUri
from sip.message import Request, Response
from sip.parser import parse_message

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"
VALID = sorted((FIXTURES / "valid").glob("*.sip"))
INVALID = sorted((FIXTURES / "invalid").glob("*.sip"))


def load(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / f"{name}.sip").read_bytes()


def parse_valid(name: str) -> Request | Response:
    return parse_message(load("valid", name))


def parse_request(name: str) -> Request:
    message = parse_valid(name)
    assert isinstance(message, Request)
    return message


def without_length(message: Request | Response) -> list[tuple[str, str]]:
    return [(n, v) for n, v in message.headers if n != "Content-Length"]


def test_corpus_is_not_empty() -> None:
    assert len(VALID) >= 30
    assert len(INVALID) >= 30


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_message_survives_parse_encode_parse(path: Path) -> None:
    first = parse_message(path.read_bytes())
    second = parse_message(first.encode())
    assert second.start_line() == first.start_line()
    assert without_length(second) == without_length(first)
    assert second.body == first.body
    assert second.encode() == first.encode()


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_message_fields_a_transaction_needs_are_readable(path: Path) -> None:
    message = parse_message(path.read_bytes())
    assert message.call_id
    assert message.cseq.number >= 0
    assert message.vias
    assert message.from_.uri
    assert message.to.uri
    if isinstance(message, Request):
        assert message.cseq.method == message.method


# -- our own corpus ----------------------------------------------------------


def test_desk_phone_invite_keeps_sdp_body_and_multi_value_lines() -> None:
    invite = parse_request("invite_sdp_deskphone")
    assert invite.method == "INVITE"
    assert invite.uri == "sip:5551234@pbx.example.com:5060"
    assert invite.body.startswith(b"v=0\r\no=- 20518 0 IN IP4 192.0.2.41\r\n")
    assert invite.body.endswith(b"a=sendrecv\r\n")
    assert len(invite.body) == int(invite.headers.get("Content-Length") or "")
    assert invite.from_.display == "Reception 101"
    assert invite.from_.tag == "2015390394"
    assert invite.top_via.branch == "z9hG4bK1776938542"
    assert invite.top_via.params["rport"] is None
    assert "PRACK" in invite.headers.values("Allow")
    assert invite.headers.values("Allow-Events") == [
        "talk",
        "hold",
        "conference",
        "refer",
        "check-sync",
    ]


def test_softphone_register_contact_keeps_quoted_instance_id() -> None:
    register = parse_request("register_softphone")
    (contact,) = register.contacts
    assert contact.params["+sip.instance"] == "<urn:uuid:00000000-0000-1000-8000-00155d0a0b0c>"
    assert contact.sip_uri.transport == "tcp"
    assert register.top_via.transport == "TCP"
    assert (register.headers.get("Authorization") or "").startswith('Digest username="agent7"')


def test_compact_forms_are_expanded_to_canonical_names() -> None:
    message = parse_request("compact_form")
    names = [name for name, _ in message.headers]
    assert names == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Supported",
        "Content-Type",
        "Content-Length",
    ]
    assert message.call_id == "compact-form-7731@192.0.2.10"
    assert message.content_type == "text/plain"
    assert message.body == b"Queue sales: 4 waiting, longest 02:13"


def test_multi_via_lines_and_comma_joined_values_are_all_visible() -> None:
    response = parse_valid("multi_via")
    assert isinstance(response, Response)
    assert response.status == 200
    assert [via.host for via in response.vias] == [
        "proxy2.example.com",
        "proxy1.example.com",
        "192.0.2.41",
    ]
    assert len(response.headers.get_all("Via")) == 2


def test_folded_header_lines_are_joined_with_one_space() -> None:
    message = parse_request("folded_headers")
    assert message.headers.get("Via") == "SIP/2.0/UDP 192.0.2.77:5060 ;branch=z9hG4bKfold77"
    assert message.top_via.branch == "z9hG4bKfold77"
    assert message.from_.tag == "fold-1"
    assert message.to.uri == "sip:pbx.example.com"
    assert message.cseq.number == 77
    assert message.headers.get("Subject") == "a subject that goes on over three lines"
    assert message.headers.values("Accept") == ["application/sdp", "application/dtmf-relay"]


def test_quoted_display_names_unescape_and_hide_commas() -> None:
    message = parse_request("quoted_display_escapes")
    assert message.from_.display == 'O\'Brien "Big Mac" \\ Sales, Ltd'
    assert message.from_.uri == "sip:+358401234567@trunk.example.net;user=phone"
    assert message.to.display == 'Sales; "Queue" <1>'
    contacts = message.contacts
    assert [c.display for c in contacts] == ["Trunk, Inc.", None]
    assert contacts[1].params == {"q": "0.1"}


def test_ipv6_references_in_uri_via_and_contact() -> None:
    invite = parse_request("ipv6")
    assert SipUri.parse(invite.uri).host == "[2001:db8::10]"
    assert SipUri.parse(invite.uri).port == 5060
    assert invite.top_via.host == "[2001:db8::9:1]"
    assert invite.top_via.params["received"] == "[2001:db8::9:255]"
    assert invite.contacts[0].sip_uri.host == "[2001:db8::9:1]"


def test_401_keeps_each_www_authenticate_line_separate() -> None:
    response = parse_valid("resp_401_www_authenticate")
    assert isinstance(response, Response)
    assert (response.status, response.reason) == (401, "Unauthorized")
    challenges = response.headers.get_all("WWW-Authenticate")
    assert len(challenges) == 2
    assert "algorithm=SHA-256" in challenges[0]


@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("resp_100_trying", 100, "Trying"),
        ("resp_180_ringing", 180, "Ringing"),
        ("resp_200_ok_sdp", 200, "OK"),
    ],
)
def test_response_status_line(name: str, status: int, reason: str) -> None:
    response = parse_valid(name)
    assert isinstance(response, Response)
    assert (response.status, response.reason) == (status, reason)


@pytest.mark.parametrize(
    ("name", "method"),
    [("options_keepalive", "OPTIONS"), ("cancel", "CANCEL"), ("ack", "ACK"), ("bye", "BYE")],
)
def test_request_method(name: str, method: str) -> None:
    assert parse_request(name).method == method


def test_info_dtmf_relay_body() -> None:
    info = parse_request("info_dtmf_relay")
    assert info.content_type == "application/dtmf-relay"
    assert info.body == b"Signal=5\r\nDuration=160\r\n"


# -- RFC 4475 §3.1.1: valid messages -----------------------------------------


def test_rfc4475_wsinv_short_tortuous_invite() -> None:
    invite = parse_request("rfc4475_wsinv")
    assert invite.uri == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert invite.to.uri == "sip:vivekg@chair-dnrc.example.com"
    assert invite.to.tag == "1918181833n"
    assert invite.from_.display == 'J Rosenberg \\"'
    assert invite.from_.tag == "98asjd8"
    assert invite.headers.get("Max-Forwards") == "0068"
    assert (invite.cseq.number, invite.cseq.method) == (9, "INVITE")
    assert [(v.transport, v.host, v.branch) for v in invite.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert invite.headers.get("Subject") == ""
    assert invite.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert invite.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    (contact,) = invite.contacts
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert len(invite.body) == 150


def test_rfc4475_intmeth_wide_range_of_valid_characters() -> None:
    request = parse_request("rfc4475_intmeth")
    method = "!interesting-Method0123456789_*+`.%indeed'~"
    assert request.method == method
    assert request.cseq.method == method
    uri = SipUri.parse(request.uri)
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    assert request.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert request.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert request.from_.display == "token1~` token2'+_ token3*%!.-"
    assert request.from_.params["fromparam''~+*_!.-%"] == "работающий"
    assert request.from_.tag == "_token~1'+`*%!-."
    assert request.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert request.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_rfc4475_esc01_escapes_are_kept_verbatim() -> None:
    invite = parse_request("rfc4475_esc01")
    assert SipUri.parse(invite.uri).user == "sips%3Auser%40example.com"
    assert invite.to.uri == "sip:%75se%72@example.com"
    assert invite.content_type == "application/sdp"
    assert invite.contacts[0].uri == "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31"


def test_rfc4475_escnull_escaped_nulls_in_uris() -> None:
    register = parse_request("rfc4475_escnull")
    assert register.to.uri == "sip:null-%00-null@example.com"
    assert [c.uri for c in register.contacts] == [
        "sip:%00@host5.example.com",
        "sip:%00%00@host5.example.com",
    ]


def test_rfc4475_esc02_percent_is_not_an_escape_in_method_or_header_name() -> None:
    request = parse_request("rfc4475_esc02")
    assert request.method == "RE%47IST%45R"
    assert request.to.display == "%Z%45"
    assert [c.uri for c in request.contacts] == [
        "sip:alias1@host1.example.com",
        "sip:alias3@host3.example.com",
    ]
    assert request.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_rfc4475_lwsdisp_no_lws_between_display_name_and_laquot() -> None:
    request = parse_request("rfc4475_lwsdisp")
    assert request.from_.display == "caller"
    assert request.from_.uri == "sip:caller@example.com"


def test_rfc4475_longreq_long_values() -> None:
    invite = parse_request("rfc4475_longreq")
    assert len(invite.vias) == 11
    assert invite.call_id.startswith("longreq.onereally")
    assert invite.to.display is not None and len(invite.to.display) > 80
    assert len(invite.body) == 150


def test_rfc4475_dblreq_second_request_in_a_datagram_is_discarded() -> None:
    register = parse_request("rfc4475_dblreq")
    assert register.method == "REGISTER"
    assert register.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"
    assert register.body == b""


def test_rfc4475_semiuri_semicolon_separated_user() -> None:
    uri = SipUri.parse(parse_request("rfc4475_semiuri").uri)
    assert uri.user == "user;par=u%40example.net"
    assert uri.host == "example.com"
    assert uri.params == {}


def test_rfc4475_transports_unknown_transport_in_via() -> None:
    request = parse_request("rfc4475_transports")
    assert [v.transport for v in request.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert request.call_id == "transports.kijh4akdnaqjkwendsasfdj"


def test_rfc4475_mpart01_binary_multipart_body_is_kept_byte_exact() -> None:
    data = load("valid", "rfc4475_mpart01")
    message = parse_request("rfc4475_mpart01")
    assert message.body == data[data.index(b"\r\n\r\n") + 4 :]
    assert b"\x00\xff\xfe\r\n\r\n\x80" in message.body
    assert message.content_type == "multipart/mixed"


def test_rfc4475_unreason_utf8_reason_phrase() -> None:
    response = parse_valid("rfc4475_unreason")
    assert isinstance(response, Response)
    assert response.status == 200
    assert response.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"
    assert len(response.body) == 154


def test_rfc4475_noreason_empty_reason_phrase() -> None:
    response = parse_valid("rfc4475_noreason")
    assert isinstance(response, Response)
    assert (response.status, response.reason) == (100, "")


def test_rfc4475_unksm2_unknown_schemes_in_header_fields_are_syntax_valid() -> None:
    request = parse_request("rfc4475_unksm2")
    assert request.to.uri == "isbn:2983792873"
    assert request.from_.uri == "http://www.example.com"
    assert request.contacts[0].uri == "name:John_Smith"


def test_rfc4475_badbranch_bare_magic_cookie_is_parsed() -> None:
    assert parse_request("rfc4475_badbranch").top_via.branch == "z9hG4bK"


def test_rfc4475_inv2543_no_branch_no_content_length_body_runs_to_datagram_end() -> None:
    invite = parse_request("rfc4475_inv2543")
    assert invite.top_via.branch is None
    assert "Content-Length" not in invite.headers
    assert len(invite.body) == 150


# -- RFC 4475 §3.1.2 / §3.3 and our own: invalid messages, exact reasons ------

INVALID_REASONS: dict[str, tuple[int, str]] = {
    "rfc4475_badinv01": (400, "bad Via ';'"),
    "rfc4475_clerr": (400, "Content-Length 9999 is larger than the 154-byte body"),
    "rfc4475_scalar02": (400, "bad Content-Length '-999'"),
    "rfc4475_scalarlg": (400, "CSeq number out of range in '36893488147419103232 REGISTER'"),
    "rfc4475_scalar1g": (400, "CSeq number out of range in '9292394834772304023312 OPTIONS'"),
    "rfc4475_quotbal": (
        400,
        "bad To: unterminated quoted display name in '\"Mr. J. User <sip:j.user@example.com>'",
    ),
    "rfc4475_ltgtruri": (400, "bad Request-URI '<sip:user@example.com>'"),
    "rfc4475_lwsruri": (400, "whitespace in Request-URI 'sip:user@example.com; lr'"),
    "rfc4475_lwsstart": (400, "more than one SP between request line elements"),
    "rfc4475_trws": (400, "whitespace at the end of the request line"),
    "rfc4475_escruri": (400, "Request-URI must not contain headers"),
    "rfc4475_baddate": (400, "bad Date 'Fri, 01 Jan 2010 16:00:00 EST': the time zone must be GMT"),
    "rfc4475_regbadct": (
        400,
        "bad Contact: URI with '?' or ',' must be enclosed in '<>' in "
        "'sip:user@example.com?Route=%3Csip:sip.example.com%3E'",
    ),
    "rfc4475_badaston": (
        400,
        "bad To: whitespace inside '<>' in '\"Watson, Thomas\" < sip:t.watson@example.org >'",
    ),
    "rfc4475_baddn": (400, "bad From: unquoted display name 'Bell, Alexander' needs quotes"),
    "rfc4475_badvers": (505, "unsupported SIP version 'SIP/7.0'"),
    "rfc4475_mismatch01": (400, "CSeq method 'INVITE' does not match request method 'OPTIONS'"),
    "rfc4475_mismatch02": (400, "CSeq method 'INVITE' does not match request method 'NEWMETHOD'"),
    "rfc4475_bigcode": (400, "bad status code '4294967301'"),
    "rfc4475_insuf": (400, "missing mandatory header fields: To, From, Call-ID"),
    "rfc4475_unkscm": (416, "unsupported URI scheme 'nobodyknowsthisscheme'"),
    "bad_cseq": (400, "bad CSeq 'OPTIONS'"),
    "bad_header_name": (400, "bad header name 'X Bad Name'"),
    "bad_max_forwards": (400, "bad Max-Forwards 'seventy'"),
    "bad_method": (400, "bad method 'INV(ITE'"),
    "bad_request_line": (400, "bad request line 'hello'"),
    "bad_status_line": (400, "status line without a status code"),
    "bad_via": (400, "bad Via 'SIP/2.0/UDP'"),
    "conflicting_content_length": (400, "conflicting Content-Length header fields"),
    "continuation_first": (400, "continuation line before the first header field"),
    "duplicate_call_id": (400, "more than one Call-ID header field"),
    "empty_call_id": (400, "empty Call-ID"),
    "header_without_colon": (400, "header line without a colon: 'This line has no colon'"),
    "no_blank_line": (400, "no empty line after the header fields"),
    "response_missing_cseq": (400, "missing mandatory header field: CSeq"),
}


def test_every_invalid_fixture_has_an_expected_reason() -> None:
    assert sorted(p.stem for p in INVALID) == sorted(INVALID_REASONS)


@pytest.mark.parametrize("name", sorted(INVALID_REASONS))
def test_invalid_message_raises_exact_reason(name: str) -> None:
    status, reason = INVALID_REASONS[name]
    with pytest.raises(SipParseError) as info:
        parse_message(load("invalid", name))
    assert info.value.reason == reason
    assert info.value.status == status
