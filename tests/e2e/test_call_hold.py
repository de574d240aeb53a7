"""Hold from the phone (O7, RFC 3264 §8.4): the held party hears music on hold,
decoded from what reached its phone, and resuming gives the conversation back."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from peers.audio import dominant_frequency, read_wav, rms, write_tone
from peers.jono import StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from test_acd_queue_basics import acd_config, phone, set_state, start_acd, wait_for
from test_acd_queue_caller import best_match

pytestmark = pytest.mark.e2e

MOH = Path(__file__).resolve().parents[2] / "prompts" / "moh" / "default.wav"
PHASE_S = 2.5


def _phases(listener: PjsuaPhone, tmp_path: Path, name: str) -> Path:
    """From now on what ``listener`` hears goes to a new file (the last one is closed)."""
    path = tmp_path / f"{name}.wav"
    listener.record(path)
    return path


def test_phone_hold_plays_default_music_to_the_other_party_and_resume_bridges_again(
    jono: StartJono, tmp_path: Path
) -> None:
    config = base_config(trunk=False)
    config["server"]["media"] = "anchor"
    server = jono(config)
    with phone(server, tmp_path, "alice") as alice, phone(server, tmp_path, "bob") as bob:
        alice.play(write_tone(tmp_path / "a.wav", 440, 8))
        bob.play(write_tone(tmp_path / "b.wav", 1000, 8))
        bob.auto_answer(200)
        alice.call(server.uri("1002"))
        alice.wait_state("CONFIRMED")
        bob.wait_state("CONFIRMED")
        alice.wait_rtp(10)
        talking = _phases(alice, tmp_path, "talking")
        time.sleep(PHASE_S)
        bob.hold()
        bob.wait_event("media", active=False, hold="local")
        time.sleep(0.3)
        held = _phases(alice, tmp_path, "held")
        time.sleep(PHASE_S + 1)
        bob.unhold()
        bob.wait_event("media", active=True)
        time.sleep(0.3)
        resumed = _phases(alice, tmp_path, "resumed")
        time.sleep(PHASE_S)
        alice.stop_record()
        alice.hangup()
        bob.wait_state("DISCONNECTED")

    assert abs(dominant_frequency(talking) - 1000) < 20
    assert abs(dominant_frequency(resumed) - 1000) < 20
    # On hold alice hears the music itself, not silence and not bob's tone.
    samples, _ = read_wav(held)
    moh, _ = read_wav(MOH)
    assert rms(held) > 0.01
    assert abs(dominant_frequency(held) - 1000) > 30
    score, _ = best_match(samples, moh[4000:12000])  # the loop's 0.5-1.5 s
    assert score > 0.8, score

    def held_seconds() -> list[float]:
        with sqlite3.connect(server.db_path) as db:
            return [r[0] for r in db.execute("SELECT hold_seconds FROM cdrs")]

    # The hold time goes on the call's record (neither talk nor wrap-up).
    wait_for(lambda: bool(held_seconds()), what="the call record")
    [seconds] = held_seconds()
    assert PHASE_S + 1 <= seconds <= PHASE_S + 4, seconds


def test_agent_hold_plays_the_queues_music_and_resume_gives_the_agent_back(
    jono: StartJono, tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts"
    (prompts / "moh").mkdir(parents=True)
    write_tone(prompts / "moh" / "calm.wav", 600, 3)
    config = acd_config({"members": ["bob"], "moh_class": "calm"})
    config["server"]["prompts_dir"] = str(prompts)
    server = start_acd(jono, config)
    with phone(server, tmp_path, "alice") as alice, phone(server, tmp_path, "bob") as bob:
        set_state(server, "bob", "ready")
        bob.auto_answer(200)
        bob.play(write_tone(tmp_path / "b.wav", 1000, 10))
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        bob.wait_state("CONFIRMED")
        time.sleep(0.5)
        bob.hold()
        bob.wait_event("media", active=False, hold="local")
        time.sleep(0.3)
        held = _phases(alice, tmp_path, "held")
        time.sleep(PHASE_S)
        bob.unhold()
        bob.wait_event("media", active=True)
        time.sleep(0.3)
        resumed = _phases(alice, tmp_path, "resumed")
        time.sleep(PHASE_S)
        alice.stop_record()
        alice.hangup()
        bob.wait_state("DISCONNECTED")

    assert abs(dominant_frequency(held) - 600) < 20
    assert abs(dominant_frequency(resumed) - 1000) < 20
