"""Voicemail with pjsua2 phones (P4): a caller leaves a tone message; the owner,
subscribed to message-summary (RFC 3842), gets "1 new", dials *97, keys the
PIN, hears the message (decoded), deletes it and gets "0" again. Forwarding
set from the phone with *72 and cleared with *73."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from peers.audio import dominant_frequency, write_tone
from peers.jono import JonoServer, StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from test_acd_queue_basics import phone

pytestmark = pytest.mark.e2e


def _plan() -> dict[str, Any]:
    config = base_config(trunk=False)
    config["server"]["media"] = "anchor"
    bob = config["users"]["bob"]
    bob["voicemail"] = {"pin": "4321"}
    bob["forward_no_answer"] = "voicemail:bob"
    bob["no_answer_timeout"] = 2
    return config


def _voice_messages(event: dict[str, Any]) -> str:
    for line in str(event.get("body", "")).splitlines():
        if line.lower().startswith("voice-message:"):
            return line.split(":", 1)[1].strip()
    return ""


def test_message_left_notified_heard_with_pin_and_deleted(jono: StartJono, tmp_path: Path) -> None:
    server = jono(_plan())
    heard = tmp_path / "bob_hears_message.wav"
    with phone(server, tmp_path, "alice") as alice, _mwi_phone(server, tmp_path) as bob:
        first = bob.wait_event("mwi", timeout=5)
        assert _voice_messages(first).startswith("0/0"), first
        # alice calls bob, who does not answer: voicemail after 2 s of ringing.
        alice.play(write_tone(tmp_path / "tone600.wav", 600, 30))
        alice.call(server.uri("1002"))
        bob.wait_incoming()
        alice.wait_state("CONFIRMED", timeout=6)
        time.sleep(1.0)
        alice.dtmf("#")  # skips the greeting: the tone, then recording
        time.sleep(3.0)
        alice.hangup()  # hanging up keeps what was said
        alice.wait_state("DISCONNECTED")
        waiting = bob.wait_event("mwi", timeout=10, where=lambda e: "1/0" in _voice_messages(e))
        assert "yes" in str(waiting["body"]).lower()

        bob.call(server.uri("*97"))
        bob.wait_state("CONFIRMED")
        time.sleep(1.0)
        bob.dtmf("4321#")
        time.sleep(3.5)  # "You have one new message", then the menu starts
        bob.dtmf("1")
        time.sleep(0.3)
        bob.record(heard)
        time.sleep(2.5)
        bob.stop_record()
        time.sleep(1.0)
        bob.dtmf("7")
        gone = bob.wait_event("mwi", timeout=10, where=lambda e: _voice_messages(e)[:3] == "0/0")
        assert "no" in str(gone["body"]).lower()
        bob.hangup()
    assert abs(dominant_frequency(heard) - 600) < 20, dominant_frequency(heard)


def _mwi_phone(server: JonoServer, tmp_path: Path) -> PjsuaPhone:
    """bob's phone, subscribed to his mailbox's message-summary."""
    p = PjsuaPhone(tmp_path, "bob")
    assert p.register("bob", "bobpw", server.address, mwi=True) == 200
    return p


def test_forward_every_call_from_the_phone_then_stop(jono: StartJono, tmp_path: Path) -> None:
    server = jono(_plan())
    with (
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "carol") as carol,
    ):
        bob.call(server.uri("*721003"))  # forward every call to carol (extension 1003)
        bob.wait_state("CONFIRMED")
        assert bob.wait_state("DISCONNECTED", timeout=8)["code"] in (200, 487)
        alice.call(server.uri("1002"))
        carol.wait_incoming(timeout=5)
        alice.hangup()
        carol.wait_state("DISCONNECTED")
        assert not [e for e in bob.history if e.get("event") == "incoming"]

        bob.call(server.uri("*73"))
        bob.wait_state("CONFIRMED")
        bob.wait_state("DISCONNECTED", timeout=8)
        alice.call(server.uri("1002"))
        bob.wait_incoming(timeout=5)
        alice.hangup()
        bob.wait_state("DISCONNECTED")


def test_forwarding_to_a_number_the_user_may_not_call_is_refused(
    jono: StartJono, tmp_path: Path
) -> None:
    config = _plan()
    config["users"]["bob"]["dial"] = "internal"
    server = jono(config)
    with phone(server, tmp_path, "bob") as bob:
        bob.call(server.uri("*720401234567"))
        assert bob.wait_state("DISCONNECTED", timeout=5)["code"] == 403
