"""Issue 3, media engine: the echo test (feature code 600) through the engine.

The caller plays a signature tone and records what comes back; the server
answers from an RTP leg of its own and sends the caller's audio back.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers.audio import dominant_frequency, read_wav
from peers.jono import StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from peers.rtp_probe import (
    anchored,
    heard_segment,
    piecewise_correlation,
    sdp_of,
    write_signature_tone,
)

pytestmark = pytest.mark.e2e

TONE = 700.0


def test_echo_number_returns_the_callers_audio(jono: StartJono, tmp_path: Path) -> None:
    config, rtp_ports = anchored(base_config(trunk=False))
    server = jono(config)
    sent = write_signature_tone(tmp_path / "sent.wav", TONE, 4, seed=3)
    heard = tmp_path / "heard.wav"

    with PjsuaPhone(tmp_path, "alice") as alice:
        assert alice.register("alice", "alicepw", server.address) == 200, alice.history
        alice.play(sent)
        alice.record(heard)
        alice.call(server.uri("600"))
        assert alice.wait_state("CONFIRMED")["code"] == 200, alice.history
        alice.wait_rtp(10)
        time.sleep(2.0)
        alice.hangup()
        alice.wait_state("DISCONNECTED")
        alice.stop_record()
        log = alice.log_text()

    # RFC 3264 section 6: the answer names a Jono leg (echo runs in the engine).
    assert sdp_of(log, "RX", "200").sdp_audio_port in rtp_ports
    assert abs(dominant_frequency(heard) - TONE) < 20
    source, _ = read_wav(sent)
    received, _ = read_wav(heard)
    score = piecewise_correlation(source, heard_segment(received))
    assert score > 0.9, f"echo does not carry the caller's audio: correlation {score:.2f}"
