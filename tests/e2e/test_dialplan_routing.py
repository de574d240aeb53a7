"""Dial-plan numbers on the real server (issue 5; SPEC N1, S4).

127.0.0.1 is the provider in most configs: SIPp calls from it are trunk
calls (no digest challenge). Outcomes are checked at both ends: the status
the caller got and whether the callee (a SIPp UAS, user ``uas``) was rung.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from peers.dialplan_helpers import dialplan_config
from peers.jono import JonoServer, StartJono
from peers.pjsua_client import PjsuaPhone
from peers.sipp import SippResult, run_sipp, sipp_uas

pytestmark = pytest.mark.e2e

DID = "+35891234567"
CALLER = "+358401111111"


def _call(server: JonoServer, scenario: str, number: str, workdir: Path, **kw: Any) -> SippResult:
    return run_sipp(
        scenario, server.address, workdir=workdir, service=number,
        keys={"caller": CALLER}, timeout_s=8, **kw,
    )  # fmt: skip


def _both(caller: SippResult, callee: SippResult) -> str:
    return f"--- caller ---\n{caller.describe()}\n--- callee ---\n{callee.describe()}"


def test_did_from_the_trunk_rings_the_user_it_maps_to(jono: StartJono, tmp_path: Path) -> None:
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        config = dialplan_config(
            uas_contact=uas.contact, numbers={DID: {"destination": "user:uas"}}
        )
        server = jono(config)
        caller = _call(server, "dp_uac_call", DID, tmp_path / "uac", extra=["-d", "300"])
        callee = uas.wait_calls(1)

    assert caller.ok, _both(caller, callee)
    invites = callee.received(method="INVITE")
    assert len(invites) == 1 and callee.successful == 1, _both(caller, callee)
    assert invites[0].start_line.startswith("INVITE sip:2000@"), _both(caller, callee)
    # The member's phone shows who called (N4 default: the caller's number).
    assert f"sip:{CALLER}@" in (invites[0].header("from") or ""), _both(caller, callee)


def test_national_format_did_reaches_the_e164_number(jono: StartJono, tmp_path: Path) -> None:
    """P2: the provider writes 091234567; the plan lists +35891234567."""
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        server = jono(
            dialplan_config(uas_contact=uas.contact, numbers={DID: {"destination": "user:uas"}})
        )
        caller = _call(server, "dp_uac_call", "091234567", tmp_path / "uac", extra=["-d", "200"])
        callee = uas.wait_calls(1)

    assert caller.ok, _both(caller, callee)
    assert len(callee.received(method="INVITE")) == 1, _both(caller, callee)


def test_unknown_number_from_the_trunk_is_not_in_service(
    jono: StartJono, tmp_path: Path
) -> None:
    server = jono(dialplan_config(numbers={DID: {"destination": "echo"}}))
    caller = _call(server, "dp_uac_404", "+35899999999", tmp_path / "uac")

    assert caller.ok, caller.describe()
    assert "Not In Service" in caller.received(status=404)[0].start_line, caller.describe()


def test_internal_only_number_is_refused_from_the_trunk(jono: StartJono, tmp_path: Path) -> None:
    numbers = {"9000": {"destination": "echo", "internal_only": True}, DID: {"destination": "echo"}}
    server = jono(dialplan_config(numbers=numbers))
    refused = _call(server, "dp_uac_404", "9000", tmp_path / "uac404")
    public = _call(server, "dp_uac_call", DID, tmp_path / "uac", extra=["-d", "200"])

    assert refused.ok, refused.describe()
    assert public.ok, public.describe()  # the same trunk reaches a public number


def test_internal_only_number_is_reached_from_a_registered_extension(
    jono: StartJono, tmp_path: Path
) -> None:
    """N1: the same number works for our own users.

    The trunk is identified by source address alone, and every peer here
    is on 127.0.0.1, so this server's provider sits elsewhere (192.0.2.0/24).
    """
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        server = jono(
            dialplan_config(
                uas_contact=uas.contact,
                trunk_sources=("192.0.2.0/24",),
                numbers={"9000": {"destination": "user:uas", "internal_only": True}},
            )
        )
        with PjsuaPhone(tmp_path, "alice") as alice:
            assert alice.register("alice", "alicepw", server.address) == 200, alice.history
            alice.call(server.uri("9000"))
            assert alice.wait_state("CONFIRMED")["code"] == 200, alice.history
            alice.hangup()
            alice.wait_state("DISCONNECTED")
        callee = uas.wait_calls(1)

    invites = callee.received(method="INVITE")
    assert len(invites) == 1 and callee.successful == 1, callee.describe()
    # An extension calls: the member sees alice's extension.
    assert "sip:1001@" in (invites[0].header("from") or ""), callee.describe()
