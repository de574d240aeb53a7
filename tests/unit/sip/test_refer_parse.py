"""Refer-To and Replaces parsing (RFC 3515 §2.1, RFC 3891 §6.1) and the sipfrag body."""

from __future__ import annotations

import pytest

from sip.errors import SipParseError
from sip.refer import Replaces, parse_refer_to, sipfrag


def test_blind_refer_to_names_the_dialled_user() -> None:
    refer_to = parse_refer_to("<sip:1002@127.0.0.1:5060>")
    assert refer_to.user == "1002"
    assert refer_to.uri == "sip:1002@127.0.0.1:5060"
    assert refer_to.replaces is None


def test_embedded_replaces_is_unescaped_as_pjsua_sends_it() -> None:
    # pjsua_call_xfer_replaces: Require=replaces&Replaces=<escaped call-id;to-tag;from-tag>
    value = (
        "<sip:1002@127.0.0.1?Require=replaces&Replaces=abc%40host%3Bto-tag%3Djono1"
        "%3Bfrom-tag%3Dphone2>"
    )
    refer_to = parse_refer_to(value)
    assert refer_to.uri == "sip:1002@127.0.0.1"
    assert refer_to.headers["require"] == "replaces"
    assert refer_to.replaces == Replaces(call_id="abc@host", to_tag="jono1", from_tag="phone2")


def test_replaces_keeps_early_only_and_round_trips() -> None:
    replaces = Replaces.parse("425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only")
    assert replaces.early_only
    assert Replaces.parse(str(replaces)) == replaces


@pytest.mark.parametrize("text", ["", "abc;to-tag=1", "abc;from-tag=1", ";to-tag=1;from-tag=2"])
def test_replaces_without_call_id_or_both_tags_is_refused(text: str) -> None:
    with pytest.raises(SipParseError):
        Replaces.parse(text)


def test_sipfrag_is_one_status_line() -> None:
    assert sipfrag(180) == b"SIP/2.0 180 Ringing\r\n"
    assert sipfrag(486, "Busy Here") == b"SIP/2.0 486 Busy Here\r\n"
