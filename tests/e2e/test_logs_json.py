"""The log tells a queue call step by step (issue 11): with --log-format json
every line is one JSON object, and every step of the call carries its id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from peers.jono import StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from test_acd_queue_basics import agent_state, wait_for

pytestmark = pytest.mark.e2e


def test_a_queue_calls_steps_are_logged_with_its_call_id(jono: StartJono, tmp_path: Path) -> None:
    config = base_config(trunk=False)
    config["queues"] = {"q": {"ring_time": 5, "members": ["bob"]}}
    config["numbers"] = {"5000": {"destination": "queue:q"}}
    config["users"]["ops"] = {"extension": "1999", "password": "opspw", "roles": ["admin"]}
    server = jono(config, args=["--log-format", "json"])
    with PjsuaPhone(tmp_path, "bob") as bob, PjsuaPhone(tmp_path, "alice") as alice:
        assert bob.register("bob", "bobpw", server.address) == 200
        assert alice.register("alice", "alicepw", server.address) == 200
        bob.call(server.uri("*21"))
        bob.wait_state("CONFIRMED")
        assert bob.wait_state("DISCONNECTED", timeout=8)["code"] == 200
        wait_for(lambda: agent_state(server, "bob") == "ready", what="bob ready")
        bob.auto_answer(200)
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        bob.wait_incoming(timeout=8)
        bob.wait_state("CONFIRMED")
        alice.hangup()
        bob.wait_state("DISCONNECTED")
        wait_for(lambda: "route taken" in server.log_text(), what="the end of the call's flow")

    lines = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    assert lines and all("timestamp" in line and "level" in line for line in lines)
    started = next(line for line in lines if line["event"] == "call in" and line.get("callee") == "5000")
    call_id = started["call_id"]
    steps = [(line["event"], line.get("kind") or line.get("to") or "") for line in lines
             if line.get("call_id") == call_id]
    for expected in [
        ("call in", "number"), ("route", "queue:q"), ("queue event", "entered"),
        ("offer", ""), ("queue event", "offered"), ("offer answered", ""),
        ("queue event", "answered"), ("call connected", ""), ("call ended", ""),
        ("route taken", ""),
    ]:
        assert expected in steps, f"{expected} not logged for {call_id}: {steps}"
    ended = next(line for line in lines if line["event"] == "call ended"
                 and line["call_id"] == call_id)
    assert (ended["by"], ended["disposition"], ended["caller"]) == ("caller", "answered", "alice")
    registered = [line for line in lines if line["event"] == "registration added"]
    assert {line["user"] for line in registered} == {"alice", "bob"}
    assert all(line["source"].startswith("127.0.0.1:") for line in registered)
