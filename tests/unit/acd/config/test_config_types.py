"""Destinations, number normalisation and helpers on the models."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.config import Destination, Dialplan, Number, NumberRules, Server, Trunk
from acd.config.types import NAMED_KINDS


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("queue:sales", "queue", "sales"),
        ("menu:main", "menu", "main"),
        ("user:alice", "user", "alice"),
        ("schedule:office", "schedule", "office"),
        ("announcement:closed", "announcement", "closed"),
        ("number:+358 40 123 4567", "number", "+358401234567"),
        ("voicemail:alice", "voicemail", "alice"),
        ("callback:sales", "callback", "sales"),
        ("hangup", "hangup", None),
        ("echo", "echo", None),
    ],
)
def test_destination_strings_parse_into_kind_and_target(
    text: str, kind: str, target: str | None
) -> None:
    dest = Destination.parse(text)
    assert (dest.kind, dest.target) == (kind, target)


@given(
    kind=st.sampled_from(NAMED_KINDS),
    name=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,20}", fullmatch=True),
)
@settings(max_examples=200, deadline=None)
def test_destination_text_round_trips(kind: str, name: str) -> None:
    dest = Destination.parse(f"{kind}:{name}")
    assert Destination.parse(str(dest)) == dest


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+358 9 123 4567", "+35891234567"),
        ("09 123 4567", "+35891234567"),
        ("00358 9 123 4567", "+35891234567"),
        ("0046-8-123456", "+468123456"),
        ("9000", "9000"),
    ],
)
def test_numbers_normalise_to_e164(written: str, e164: str) -> None:
    assert NumberRules().normalise(written) == e164


def test_server_helpers_split_addresses() -> None:
    server = Server.model_validate({"listen": "[::1]:5070", "rtp_ports": "30000-30100"})
    assert (server.listen_host, server.listen_port) == ("::1", 5070)
    assert server.contact_host == "::1"
    assert server.rtp_port_range == (30000, 30100)
    assert Server.model_validate({"public_host": "192.0.2.1"}).contact_host == "192.0.2.1"


def test_trunk_recognises_sources_by_network() -> None:
    trunk = Trunk.model_validate({"inbound_sources": ["192.0.2.0/24", "127.0.0.1"]})
    assert trunk.accepts("192.0.2.77")
    assert trunk.accepts("127.0.0.1")
    assert not trunk.accepts("198.51.100.1")
    assert not trunk.accepts("not-an-ip")


def test_dialplan_finds_numbers_as_dialled_or_normalised() -> None:
    plan = Dialplan.model_validate(
        {
            "trunks": {"p": {"inbound_sources": ["127.0.0.1"]}},
            "numbers": {"+35891234567": {"destination": "echo"}},
            "users": {"alice": {"extension": "1001", "password": "x"}},
        }
    )
    assert plan.find_number("+35891234567") is plan.numbers["+35891234567"]
    assert plan.find_number("091234567") is plan.numbers["+35891234567"]
    assert plan.find_number("12345") is None
    assert plan.trunk_for_source("127.0.0.1") == ("p", plan.trunks["p"])
    assert plan.user_by_extension("1001") == ("alice", plan.users["alice"])


@pytest.mark.parametrize(
    ("display", "affix", "seen"),
    [
        ("group_number", "", "0201234567"),
        ("caller", "", "0401111111"),
        ("caller_prefix", "1*", "1*0401111111"),
        ("caller_suffix", "*1", "0401111111*1"),
    ],
)
def test_members_see_the_configured_caller_id(display: str, affix: str, seen: str) -> None:
    number = Number.model_validate(
        {"destination": "echo", "caller_id_display": display, "caller_id_affix": affix}
    )
    assert number.displayed_caller_id("0401111111", "0201234567") == seen
