"""Caller ID on members' phones and outbound calls through a trunk
(issue 5; SPEC N4, P2).

SIPp calls from 127.0.0.1 (the provider) as caller number 0401234567.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from peers.dialplan_helpers import dialplan_config, digest_matches
from peers.jono import StartJono
from peers.sipp import run_sipp, sipp_uas

pytestmark = pytest.mark.e2e

DID = "+35891234567"
CALLER = "0401234567"


@pytest.mark.parametrize(
    ("display", "affix", "shown"),
    [
        pytest.param("caller_prefix", "1*", f"1*{CALLER}", id="prefix"),
        pytest.param("caller_suffix", "*1", f"{CALLER}*1", id="suffix"),
        pytest.param("group_number", "", DID, id="group-number"),
        pytest.param("caller", "", CALLER, id="caller"),
    ],
)
def test_member_phone_shows_the_configured_caller_id(
    jono: StartJono, tmp_path: Path, display: str, affix: str, shown: str
) -> None:
    number = {"destination": "user:uas", "caller_id_display": display, "caller_id_affix": affix}
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        server = jono(dialplan_config(uas_contact=uas.contact, numbers={DID: number}))
        caller = run_sipp(
            "dp_uac_call", server.address, workdir=tmp_path / "uac", service=DID,
            keys={"caller": CALLER}, extra=["-d", "200"], timeout_s=8,
        )  # fmt: skip
        callee = uas.wait_calls(1)

    flow = f"--- caller ---\n{caller.describe()}\n--- callee ---\n{callee.describe()}"
    assert caller.ok, flow
    invites = callee.received(method="INVITE")
    assert len(invites) == 1, flow
    assert f"<sip:{shown}@" in (invites[0].header("from") or ""), flow


@pytest.mark.parametrize(
    ("scenario", "header", "password", "answered"),
    [
        pytest.param("dp_uas_provider_407", "proxy-authorization", "p", True, id="407"),
        pytest.param("dp_uas_provider_401", "authorization", "p", True, id="401"),
        pytest.param("dp_uas_provider_401", "authorization", "wrong", False, id="401-wrong"),
    ],
)
def test_outbound_call_answers_the_providers_digest_challenge(
    jono: StartJono, tmp_path: Path, scenario: str, header: str, password: str, answered: bool
) -> None:
    """RFC 3261 section 22.2/22.3: the gateway's 401/407 is answered with credentials."""
    with sipp_uas(scenario, workdir=tmp_path / "provider") as provider:
        config = dialplan_config(
            numbers={"5000": {"destination": "number:+358401234567"}},
            trunks={
                "provider": {
                    "inbound_sources": ["127.0.0.1"],
                    "outbound": {
                        "gateway": f"127.0.0.1:{provider.port}",
                        "username": "u",
                        "password": password,
                    },
                }
            },
        )
        server = jono(config)
        caller = run_sipp(
            "dp_uac_call" if answered else "dp_uac_403", server.address,
            workdir=tmp_path / "uac", service="5000",
            keys={"caller": CALLER}, extra=["-d", "300"], timeout_s=8,
        )  # fmt: skip
        callee = provider.wait_calls(1)

    flow = f"--- caller ---\n{caller.describe()}\n--- provider ---\n{callee.describe()}"
    assert caller.ok, flow
    invites = callee.received(method="INVITE")
    assert len(invites) == 2, flow
    assert invites[0].start_line.startswith("INVITE sip:+358401234567@"), flow
    assert invites[0].header(header) is None, flow
    assert invites[1].header("call-id") == invites[0].header("call-id"), flow
    credentials = invites[1].header(header) or ""
    assert digest_matches(credentials, "INVITE", "u", "p") is answered, flow
    # The provider checked it too (SIPp verifyauth, 401 only): 403 on a wrong one.
    assert len(callee.sent(status=403)) == (0 if answered else 1), flow
    if answered:
        assert len(callee.received(method="BYE")) == 1, flow


def _registering_trunk(registrar_port: int, password: str) -> dict[str, object]:
    return {
        "provider": {
            "inbound_sources": ["127.0.0.1"],
            "register": {
                "registrar": f"127.0.0.1:{registrar_port}",
                "username": "u",
                "password": password,
                "expires": 60,
            },
        }
    }


@pytest.mark.parametrize(("password", "registered"), [("p", True), ("wrong", False)])
def test_trunk_registers_at_the_provider_and_refreshes_the_binding(
    jono: StartJono, tmp_path: Path, password: str, registered: bool
) -> None:
    """P2, RFC 3261 section 10.2: REGISTER, the 401 answered with credentials,
    the binding refreshed before the 2 s the registrar granted run out."""
    with sipp_uas("dp_uas_registrar", workdir=tmp_path / "registrar") as registrar:
        jono(dialplan_config(trunks=_registering_trunk(registrar.port, password)))
        flow = registrar.wait_calls(1, timeout_s=8)

    trace = flow.describe()
    registers = flow.received(method="REGISTER")
    assert registers and registers[0].header("authorization") is None, trace
    assert "<sip:u@" in (registers[0].header("contact") or ""), trace
    assert registers[0].header("expires") == "60", trace
    if not registered:
        assert len(registers) == 2 and len(flow.sent(status=403)) == 1, trace
        return
    assert len(registers) == 3, trace
    for register in registers[1:]:
        assert digest_matches(register.header("authorization") or "", "REGISTER", "u", "p"), trace
    assert len({r.header("call-id") for r in registers}) == 1, trace  # section 10.2
    cseqs = [int((r.header("cseq") or "0").split()[0]) for r in registers]
    assert cseqs == sorted(set(cseqs)), trace
    assert len(flow.sent(status=200)) == 2 and not flow.sent(status=403), trace


def test_a_call_to_the_registered_contact_is_routed_by_its_to_number(
    jono: StartJono, tmp_path: Path
) -> None:
    """Providers send calls for a registered trunk to the Contact Jono
    registered (sip:u@...); the number the caller dialled is in To."""
    scenario = tmp_path / "uac_to.xml"
    source = Path(__file__).parent / "scenarios" / "dp_uac_call.xml"
    text = source.read_text().replace("To: <sip:[service]@", "To: <sip:[to_number]@")
    scenario.write_text(text)
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        server = jono(dialplan_config(
            uas_contact=uas.contact, numbers={DID: {"destination": "user:uas"}},
            trunks=_registering_trunk(9, "p"),  # nobody listens there: not registered
        ))  # fmt: skip
        caller = run_sipp(
            scenario, server.address, workdir=tmp_path / "uac", service="u",
            keys={"caller": CALLER, "to_number": DID}, extra=["-d", "200"], timeout_s=8,
        )  # fmt: skip
        callee = uas.wait_calls(1)
    flow = f"--- caller ---\n{caller.describe()}\n--- callee ---\n{callee.describe()}"
    assert caller.ok, flow
    assert len(callee.received(method="INVITE")) == 1, flow
