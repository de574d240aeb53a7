"""Users call out by the plan's rules (issue 11; SPEC P2, N3): a pjsua2 phone
calls numbers out through a SIPp provider; allowed numbers reach it in E.164
with the right caller ID, refused ones get 403, emergency numbers always go."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers.jono import StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from peers.sipp import sipp_uas

pytestmark = pytest.mark.e2e


def dial(phone: PjsuaPhone, uri: str) -> int:
    """Call ``uri``: 200 if answered (then hung up), else the final status."""
    phone.call(uri)
    event = phone.wait_event("state", timeout=8, where=lambda e: e.get("state") in (
        "CONFIRMED", "DISCONNECTED"))
    if event["state"] == "CONFIRMED":
        time.sleep(0.3)
        phone.hangup()
        phone.wait_state("DISCONNECTED")
        return 200
    return int(event["code"])


def test_users_call_out_by_their_class_and_emergency_numbers_always_go(
    jono: StartJono, tmp_path: Path
) -> None:
    with sipp_uas("uas_answer", workdir=tmp_path / "provider") as provider:
        config = base_config(trunk=False)
        config["users"]["alice"]["dial"] = "internal"
        config["users"]["bob"]["caller_id"] = "+35891234568"
        config["numbers"] = {"+35891234568": {"destination": "user:bob"}}
        config["trunks"] = {"provider": {"outbound": {
            "gateway": f"127.0.0.1:{provider.port}", "caller_id": "+35891234567"}}}
        config["outbound"] = {"emergency": ["112"], "blocked_prefixes": ["+358700"]}
        server = jono(config)
        with PjsuaPhone(tmp_path, "bob") as bob:
            assert bob.register("bob", "bobpw", server.address) == 200
            allowed = dial(bob, server.uri("0401234567"))
            abroad = dial(bob, server.uri("004681234567"))
            premium = dial(bob, server.uri("0700123456"))
        with PjsuaPhone(tmp_path, "alice") as alice:
            assert alice.register("alice", "alicepw", server.address) == 200
            internal_only = dial(alice, server.uri("0401234567"))
            emergency = dial(alice, server.uri("112"))
        seen = provider.wait_calls(2)

    assert (allowed, abroad, premium) == (200, 403, 403)
    assert (internal_only, emergency) == (403, 200)
    invites = seen.received(method="INVITE")
    assert [i.start_line.split()[1].split("@")[0] for i in invites] == [
        "sip:+358401234567", "sip:112",
    ], seen.describe()
    assert "<sip:+35891234568@" in (invites[0].header("from") or "")  # bob's own number
    assert "<sip:+35891234567@" in (invites[1].header("from") or "")  # the trunk's
    log = server.log_text()
    assert "call out refused" in log and "international calls not allowed" in log
