"""Issue 16, goal 3: rtpengine as the media plane, end to end.

The plan says ``server.media: {engine: rtpengine, ng: HOST:PORT}``; a real rtpengine
(Debian's rtpengine-daemon in user space, started by the test) anchors the call
through its ng protocol. Two pjsua2 phones talk through Jono + rtpengine: each phone
only ever sees rtpengine's address and ports in SDP, both hear the other's tone, the
call record keeps its media figures, a hold and resume (re-INVITEs answered through
rtpengine) leave the call talking, and rtpengine holds no call once it ended. Blind
(REFER) and attended (REFER with Replaces) transfers leave the two who remain
talking through rtpengine. A prompt from Jono's ticker reaches a caller through
rtpengine as a steady stream.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from peers.jono import JonoServer, StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from peers.rtp_probe import (
    RtpCapture,
    anchored,
    audio_stream,
    decode_stream,
    sdp_of,
    window_frequencies,
    write_listener_scenario,
    write_signature_tone,
)
from peers.rtpengine import Rtpengine
from peers.sipp import run_sipp
from test_acd_queue_basics import phone
from test_call_transfer import Heard, _tones
from test_media_bridge import TONE_A, TONE_B, _assert_heard, _call_record_media, _register

pytestmark = pytest.mark.e2e

TALK_S = 2.0


def _rtpengine_config(rtp: Rtpengine) -> tuple[dict[str, object], range]:
    config, jono_ports = anchored(base_config(trunk=False))
    config["server"]["media"] = {"mode": "anchor", "engine": "rtpengine", "ng": rtp.ng}
    return config, jono_ports


def _record_both(alice: PjsuaPhone, bob: PjsuaPhone, tmp_path: Path, tag: str) -> None:
    alice.record(tmp_path / f"heard_by_alice{tag}.wav")
    bob.record(tmp_path / f"heard_by_bob{tag}.wav")
    time.sleep(TALK_S)
    alice.stop_record()
    bob.stop_record()


def _forget_media_status(phone: PjsuaPhone) -> None:
    phone.history[:] = [e for e in phone.history if e.get("event") != "media_status"]


def _wait_no_calls(rtp: Rtpengine, timeout_s: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while (calls := rtp.calls()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return calls


def test_phones_talk_through_rtpengine_and_after_hold_and_resume(
    jono: StartJono, tmp_path: Path
) -> None:
    with Rtpengine(tmp_path / "rtpengine") as rtp:
        config, jono_ports = _rtpengine_config(rtp)
        server: JonoServer = jono(config)
        with (
            _register(PjsuaPhone(tmp_path, "alice"), server, "alice") as alice,
            _register(PjsuaPhone(tmp_path, "bob"), server, "bob") as bob,
        ):
            alice.play(write_signature_tone(tmp_path / "a.wav", TONE_A, 4, seed=1))
            bob.play(write_signature_tone(tmp_path / "b.wav", TONE_B, 4, seed=2))
            bob.auto_answer(200)
            alice.call(server.uri("1002"))
            bob.wait_incoming()
            assert alice.wait_state("CONFIRMED")["code"] == 200, alice.history
            bob.wait_state("CONFIRMED")
            alice.wait_rtp(10)
            bob.wait_rtp(10)
            assert len(rtp.calls()) == 2, "one rtpengine call per Jono leg"
            _record_both(alice, bob, tmp_path, "")

            # Hold and resume: re-INVITEs from alice, answered through rtpengine.
            _forget_media_status(alice)
            alice.hold()
            alice.wait_media_status("LOCAL_HOLD")
            _forget_media_status(alice)
            alice.unhold()
            alice.wait_media_status("ACTIVE")
            _record_both(alice, bob, tmp_path, "_resumed")

            alice.hangup()
            assert bob.wait_state("DISCONNECTED")["code"] == 200, bob.history
            alice.wait_state("DISCONNECTED")
            alice_log, bob_log = alice.log_text(), bob.log_text()

        # Both heard the other's tone, before the hold and after the resume.
        _assert_heard(tmp_path, "a.wav", "heard_by_bob.wav", TONE_A)
        _assert_heard(tmp_path, "b.wav", "heard_by_alice.wav", TONE_B)
        _assert_heard(tmp_path, "a.wav", "heard_by_bob_resumed.wav", TONE_A)
        _assert_heard(tmp_path, "b.wav", "heard_by_alice_resumed.wav", TONE_B)

        # The phones see rtpengine's ports, never Jono's own (the media is anchored there).
        for message in (sdp_of(bob_log, "RX", "INVITE"), sdp_of(alice_log, "RX", "200")):
            assert message.sdp_audio_port in rtp.ports, message.text
            assert message.sdp_audio_port not in jono_ports, message.text

        # The call record's media figures come from rtpengine's counters.
        media = _call_record_media(server)
        for leg in ("caller", "callee"):
            figures = media[leg]
            assert figures["packets_received"] > 50 and figures["packets_sent"] > 50, media

        # Every leg's rtpengine call was deleted when the call ended.
        assert _wait_no_calls(rtp) == []


def test_blind_transfer_through_rtpengine_then_both_hear_each_other(
    jono: StartJono, tmp_path: Path
) -> None:
    """bob REFERs alice to carol: the new call's media is anchored by rtpengine too,
    and alice and carol hear each other; rtpengine holds no call afterwards."""
    with Rtpengine(tmp_path / "rtpengine") as rtp:
        config, _ = _rtpengine_config(rtp)
        server = jono(config)
        with (
            phone(server, tmp_path, "alice") as alice,
            phone(server, tmp_path, "bob") as bob,
            phone(server, tmp_path, "carol") as carol,
        ):
            _tones(tmp_path, alice=(alice, 440), bob=(bob, 700), carol=(carol, 1000))
            bob.auto_answer(200)
            alice.call(server.uri("1002"))
            alice.wait_state("CONFIRMED")
            bob.wait_state("CONFIRMED")
            carol.auto_answer(200)
            bob.transfer(server.uri("1003"))
            carol.wait_incoming()
            carol.wait_state("CONFIRMED")
            assert bob.wait_event("xfer_status", final=True, timeout=5)["code"] == 200
            bob.wait_state("DISCONNECTED")
            heard = Heard(tmp_path, alice, 440, carol, 1000)
            carol_log = carol.log_text()
            alice.hangup()
            carol.wait_state("DISCONNECTED")
        heard.check()
        # carol talks to rtpengine's port, not to Jono's.
        assert sdp_of(carol_log, "RX", "INVITE").sdp_audio_port in rtp.ports
        assert _wait_no_calls(rtp) == []


def test_attended_transfer_through_rtpengine_joins_the_caller_and_the_consulted_phone(
    jono: StartJono, tmp_path: Path
) -> None:
    """bob holds alice (a re-INVITE through rtpengine), consults carol, and REFERs
    alice to carol with Replaces: alice and carol hear each other."""
    with Rtpengine(tmp_path / "rtpengine") as rtp:
        config, _ = _rtpengine_config(rtp)
        server = jono(config)
        with (
            phone(server, tmp_path, "alice") as alice,
            phone(server, tmp_path, "bob") as bob,
            phone(server, tmp_path, "carol") as carol,
        ):
            _tones(tmp_path, alice=(alice, 440), bob=(bob, 700), carol=(carol, 1000))
            bob.auto_answer(200)
            alice.call(server.uri("1002"))
            alice.wait_state("CONFIRMED")
            first = int(bob.wait_state("CONFIRMED")["call"])
            bob.hold(first)
            bob.wait_event("media", active=False, hold="local")
            carol.auto_answer(200)
            consult = bob.call(server.uri("1003"))
            carol.wait_state("CONFIRMED")
            bob.wait_state("CONFIRMED", call=consult)
            time.sleep(0.5)
            bob.transfer_replacing(first, consult)
            assert bob.wait_event("xfer_status", final=True, timeout=5)["code"] == 200
            bob.wait_state("DISCONNECTED", call=first)
            bob.wait_state("DISCONNECTED", call=consult)
            heard = Heard(tmp_path, alice, 440, carol, 1000)
            alice.hangup()
            carol.wait_state("DISCONNECTED")
        heard.check()
        assert _wait_no_calls(rtp) == []


def test_prompt_from_jonos_ticker_reaches_the_caller_through_rtpengine(
    jono: StartJono, tmp_path: Path
) -> None:
    """The waiting callers' audio stays with Jono's ticker: rtpengine relays it."""
    seconds, frequency = 3.0, 600.0
    prompt = write_signature_tone(tmp_path / "hello.wav", frequency, seconds, seed=4)
    with Rtpengine(tmp_path / "rtpengine") as rtp:
        config, _ = anchored(base_config(trunk=True))
        config["server"]["media"] = {"mode": "anchor", "engine": "rtpengine", "ng": rtp.ng}
        config["announcements"] = {"hello": {"file": str(prompt), "then": "hangup"}}
        config["numbers"] = {"7000": {"destination": "announcement:hello"}}
        server = jono(config)
        with RtpCapture() as ear:
            result = run_sipp(
                write_listener_scenario(tmp_path), server.address, workdir=tmp_path / "sipp",
                service="7000", keys={"rtp_port": str(ear.port)}, timeout_s=seconds + 10,
            )  # fmt: skip
            records = ear.close()
        assert result.ok, result.describe()
        assert _wait_no_calls(rtp) == []

    stream = audio_stream(records, 0)
    assert {(b.seq - a.seq) % 65536 for a, b in zip(stream, stream[1:], strict=False)} == {1}
    assert {(b.ts - a.ts) % 2**32 for a, b in zip(stream, stream[1:], strict=False)} == {160}
    arrivals = np.array([r.arrival for r in stream])
    rate = (len(stream) - 1) / float(arrivals[-1] - arrivals[0])
    assert 45 <= rate <= 55, f"{rate:.1f} packets/s"
    assert len(stream) >= seconds * 50 * 0.95, len(stream)
    tones = [f for f in window_frequencies(decode_stream(stream, 0)[: int(seconds * 8000)]) if f]
    assert tones and all(abs(f - frequency) < 30 for f in tones), tones
