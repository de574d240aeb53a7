"""Blind transfer and hold from baresip (O7), a phone nobody here wrote beside
pjsua2: its ``transfer`` command sends REFER, its ``hold`` a sendonly re-INVITE."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers.audio import dominant_frequency, rms, write_tone
from peers.baresip import Baresip
from peers.jono import StartJono, base_config
from test_acd_queue_basics import phone

pytestmark = pytest.mark.e2e


def test_baresip_transfers_a_caller_to_a_pjsua2_phone_and_they_hear_each_other(
    jono: StartJono, tmp_path: Path
) -> None:
    config = base_config(trunk=False)
    config["server"]["media"] = "anchor"
    server = jono(config)
    heard_by_alice, heard_by_carol = tmp_path / "alice_heard.wav", tmp_path / "carol_heard.wav"
    with (
        Baresip(tmp_path / "bob", user="bob", password="bobpw", registrar=server.address,
                source_wav=write_tone(tmp_path / "bob.wav", 700, 30)) as bob,
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "carol") as carol,
    ):
        bob.wait_registered(timeout=5)
        alice.play(write_tone(tmp_path / "alice.wav", 440, 30))
        carol.play(write_tone(tmp_path / "carol.wav", 1000, 30))
        alice.call(server.uri("1002"))  # baresip answers by itself
        alice.wait_state("CONFIRMED", timeout=10)
        bob.wait_event("CALL_ESTABLISHED", timeout=10)
        carol.auto_answer(200)
        bob.command("transfer", server.uri("1003"))
        carol.wait_incoming(timeout=10)
        carol.wait_state("CONFIRMED", timeout=10)
        bob.wait_event("CALL_CLOSED", timeout=10)  # NOTIFY 200, then BYE from Jono
        time.sleep(0.5)
        alice.record(heard_by_alice)
        carol.record(heard_by_carol)
        time.sleep(2.0)
        alice.stop_record()
        carol.stop_record()
        alice.hangup()
        carol.wait_state("DISCONNECTED", timeout=5)
    assert abs(dominant_frequency(heard_by_alice) - 1000) < 20
    assert abs(dominant_frequency(heard_by_carol) - 440) < 20


def test_baresip_hold_gives_the_caller_music_and_resume_gives_the_agent_back(
    jono: StartJono, tmp_path: Path
) -> None:
    config = base_config(trunk=False)
    config["server"]["media"] = "anchor"
    server = jono(config)
    on_hold, after = tmp_path / "on_hold.wav", tmp_path / "after.wav"
    with (
        Baresip(tmp_path / "bob", user="bob", password="bobpw", registrar=server.address,
                source_wav=write_tone(tmp_path / "bob.wav", 700, 30)) as bob,
        phone(server, tmp_path, "alice") as alice,
    ):
        bob.wait_registered(timeout=5)
        alice.call(server.uri("1002"))
        alice.wait_state("CONFIRMED", timeout=10)
        bob.wait_event("CALL_ESTABLISHED", timeout=10)
        bob.command("hold")
        time.sleep(1.0)
        alice.record(on_hold)
        time.sleep(2.5)
        alice.stop_record()
        bob.command("resume")
        time.sleep(1.0)
        alice.record(after)
        time.sleep(2.0)
        alice.stop_record()
        alice.hangup()
    assert abs(dominant_frequency(on_hold) - 700) > 30  # music, not bob's tone...
    assert rms(on_hold) > 0.01  # ...and not silence
    assert abs(dominant_frequency(after) - 700) < 20
