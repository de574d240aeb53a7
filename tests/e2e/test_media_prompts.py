"""Issue 3, media engine: prompts are sent as a steady RTP stream.

A SIPp caller (from a trunk address, so unchallenged) dials a number whose
destination is an announcement; its SDP points ``m=audio`` at a Python
socket that records every packet. RFC 3550 section 5.1: the sequence number
increments by one per packet and the timestamp by the samples it carries
(160 for 20 ms of 8 kHz G.711, RFC 3551 section 4.5.14), across the switch
from one prompt to the next too (the announcement, then "goodbye").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from peers.audio import read_wav
from peers.jono import StartJono, base_config
from peers.rtp_probe import (
    RtpCapture,
    anchored,
    audio_stream,
    decode_stream,
    heard_segment,
    matched_correlation,
    window_frequencies,
    write_listener_scenario,
    write_signature_tone,
)
from peers.sipp import run_sipp

pytestmark = pytest.mark.e2e

PROMPT_S = 3.0
TONE = 600.0
PCMU = 0


def test_announcement_arrives_at_50_packets_per_second(jono: StartJono, tmp_path: Path) -> None:
    prompt = write_signature_tone(tmp_path / "hello.wav", TONE, PROMPT_S, seed=4)
    config, _ = anchored(base_config(trunk=True))
    config["announcements"] = {"hello": {"file": str(prompt), "then": "hangup"}}
    config["numbers"] = {"7000": {"destination": "announcement:hello"}}
    server = jono(config)

    with RtpCapture() as ear:
        result = run_sipp(
            write_listener_scenario(tmp_path),
            server.address,
            workdir=tmp_path / "sipp",
            service="7000",
            keys={"rtp_port": str(ear.port)},
            timeout_s=PROMPT_S + 10,
        )
        records = ear.close()
    # The server hung up after the prompt (then: hangup) and SIPp answered its BYE.
    assert result.ok, result.describe()

    stream = audio_stream(records, PCMU)
    assert {r.ssrc for r in stream} == {stream[0].ssrc}, "one call, one SSRC"
    assert stream[0].marker  # RFC 3551 section 4.1: first packet of a talkspurt
    seq_steps = {(b.seq - a.seq) % 65536 for a, b in zip(stream, stream[1:], strict=False)}
    ts_steps = {(b.ts - a.ts) % 2**32 for a, b in zip(stream, stream[1:], strict=False)}
    assert seq_steps == {1}
    assert ts_steps == {160}
    assert {len(r.payload) for r in stream} == {160}

    # 50 packets a second over the whole announcement, with no hole in it.
    arrivals = np.array([r.arrival for r in stream])
    rate = (len(stream) - 1) / float(arrivals[-1] - arrivals[0])
    assert 45 <= rate <= 55, f"{rate:.1f} packets/s"
    assert float(np.max(np.diff(arrivals))) < 0.1
    # The prompt, then the system "goodbye" of ``then: hangup``, in one stream.
    assert len(stream) >= PROMPT_S * 50 * 0.95, len(stream)

    # What was sent first is the prompt: its tone and its waveform.
    heard = decode_stream(stream, PCMU)
    tones = [f for f in window_frequencies(heard[: int(PROMPT_S * 8000)]) if f]
    assert tones and all(abs(f - TONE) < 30 for f in tones), tones
    source, _ = read_wav(prompt)
    score = matched_correlation(source, heard_segment(heard, seconds=2.0, after_s=0.1))
    assert score > 0.95, f"the stream does not carry the prompt: correlation {score:.2f}"
