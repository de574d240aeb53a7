"""Issue 3, media engine: two pjsua2 phones talk through Jono's anchored bridge.

Each phone negotiates with its own RTP leg on the server (RFC 3264 section 6:
the answer names the answerer's address and port), and the engine relays
between the legs, transcoding G.711 u-law <-> A-law when they differ.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from peers.audio import dominant_frequency, read_wav
from peers.jono import JonoServer, StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from peers.rtp_probe import (
    CodecPhone,
    anchored,
    heard_segment,
    piecewise_correlation,
    sdp_of,
    write_signature_tone,
)

pytestmark = pytest.mark.e2e

TALK_S = 2.0  # enough for a 0.5 s skip plus a clean FFT
TONE_A, TONE_B = 440.0, 1000.0


def _register(phone: PjsuaPhone, server: JonoServer, user: str) -> PjsuaPhone:
    code = phone.register(user, f"{user}pw", server.address)
    assert code == 200, f"{phone.name}: REGISTER ended with {code}\n{phone.history}"
    return phone


def _talk(alice: PjsuaPhone, bob: PjsuaPhone, server: JonoServer, tmp_path: Path) -> None:
    """alice calls bob (1002), both play their tone and record, alice hangs up."""
    alice.play(write_signature_tone(tmp_path / "a.wav", TONE_A, 4, seed=1))
    bob.play(write_signature_tone(tmp_path / "b.wav", TONE_B, 4, seed=2))
    alice.record(tmp_path / "heard_by_alice.wav")
    bob.record(tmp_path / "heard_by_bob.wav")
    bob.auto_answer(200)
    alice.call(server.uri("1002"))
    bob.wait_incoming()
    assert alice.wait_state("CONFIRMED")["code"] == 200, alice.history
    bob.wait_state("CONFIRMED")
    alice.wait_rtp(10)
    bob.wait_rtp(10)
    time.sleep(TALK_S)
    alice.hangup()
    assert bob.wait_state("DISCONNECTED")["code"] == 200, bob.history
    alice.wait_state("DISCONNECTED")
    alice.stop_record()
    bob.stop_record()


def _assert_heard(tmp_path: Path, sent: str, heard: str, frequency: float) -> None:
    """``heard`` carries ``sent``: same dominant frequency, and its waveform."""
    assert abs(dominant_frequency(tmp_path / heard) - frequency) < 20
    source, _ = read_wav(tmp_path / sent)
    received, _ = read_wav(tmp_path / heard)
    score = piecewise_correlation(source, heard_segment(received))
    assert score > 0.9, f"{heard} does not carry {sent}: correlation {score:.2f}"


def _call_record_media(server: JonoServer, timeout_s: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sqlite3.connect(server.db_path) as db:
            rows = db.execute("SELECT media FROM cdrs WHERE media IS NOT NULL").fetchall()
        if rows:
            figures: dict[str, Any] = json.loads(rows[-1][0])
            return figures
        time.sleep(0.1)
    raise AssertionError("no call record with media figures")


def test_phones_hear_each_other_through_the_anchored_bridge(
    jono: StartJono, tmp_path: Path
) -> None:
    config, rtp_ports = anchored(base_config(trunk=False))
    server = jono(config)

    with (
        _register(PjsuaPhone(tmp_path, "alice"), server, "alice") as alice,
        _register(PjsuaPhone(tmp_path, "bob"), server, "bob") as bob,
    ):
        _talk(alice, bob, server, tmp_path)
        alice_log, bob_log = alice.log_text(), bob.log_text()

    _assert_heard(tmp_path, "a.wav", "heard_by_bob.wav", TONE_A)
    _assert_heard(tmp_path, "b.wav", "heard_by_alice.wav", TONE_B)

    # RFC 3264 section 6: each phone's peer in SDP is a Jono leg, not the other phone.
    offer_by_alice = sdp_of(alice_log, "TX", "INVITE")
    offer_to_bob = sdp_of(bob_log, "RX", "INVITE")
    answer_by_bob = sdp_of(bob_log, "TX", "200")
    answer_to_alice = sdp_of(alice_log, "RX", "200")
    assert offer_to_bob.sdp_audio_port in rtp_ports, offer_to_bob.text
    assert answer_to_alice.sdp_audio_port in rtp_ports, answer_to_alice.text
    assert offer_to_bob.sdp_audio_port != answer_to_alice.sdp_audio_port  # one leg each
    assert offer_to_bob.sdp_audio_port != offer_by_alice.sdp_audio_port
    assert answer_to_alice.sdp_audio_port != answer_by_bob.sdp_audio_port
    assert offer_to_bob.sdp_address == answer_to_alice.sdp_address == server.host

    # S2: the call record keeps each leg's RTP figures (RFC 3550 A.3 loss, A.8 jitter).
    media = _call_record_media(server)
    for leg in ("caller", "callee"):
        figures = media[leg]
        assert figures["packets_received"] > 50 and figures["packets_sent"] > 50, media
        assert figures["packets_lost"] <= 5 and 0 <= figures["jitter_ms"] < 50, media


def test_pcma_phone_talks_to_pcmu_phone(jono: StartJono, tmp_path: Path) -> None:
    """alice offers only A-law, bob answers u-law: the engine transcodes both ways."""
    config, _ = anchored(base_config(trunk=False))
    server = jono(config)
    alaw_only = {"PCMA/8000": 255, "PCMU/8000": 0, "G722/16000": 0}
    ulaw_only = {"PCMU/8000": 255, "PCMA/8000": 0, "G722/16000": 0}

    with (
        _register(CodecPhone(tmp_path, "alice", alaw_only), server, "alice") as alice,
        _register(CodecPhone(tmp_path, "bob", ulaw_only), server, "bob") as bob,
    ):
        _talk(alice, bob, server, tmp_path)
        alice_log, bob_log = alice.log_text(), bob.log_text()

    # RFC 3551 section 6: payload type 8 is PCMA, 0 is PCMU.
    assert sdp_of(alice_log, "RX", "200").sdp_formats[0] == 8
    assert sdp_of(bob_log, "TX", "200").sdp_formats[0] == 0
    _assert_heard(tmp_path, "a.wav", "heard_by_bob.wav", TONE_A)
    _assert_heard(tmp_path, "b.wav", "heard_by_alice.wav", TONE_B)
