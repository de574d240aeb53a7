"""pjsua2 phones and baresip register with Jono and call each other by extension.

127.0.0.1 is not a trunk here: every REGISTER and INVITE is digest-challenged.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers.audio import dominant_frequency, write_tone
from peers.baresip import Baresip
from peers.jono import JonoServer, StartJono, base_config
from peers.pjsua_client import PjsuaPhone

pytestmark = pytest.mark.e2e

TALK_S = 2.0  # audio long enough for a 0.5 s skip plus a clean FFT


def _registered(
    server: JonoServer, tmp_path: Path, name: str, user: str, pw: str, transport: str = "udp"
) -> PjsuaPhone:
    phone = PjsuaPhone(tmp_path, name)
    code = phone.register(user, pw, server.address, transport=transport)
    assert code == 200, f"{name}: REGISTER ended with {code}\n{phone.history}"
    return phone


def test_two_phones_call_by_extension_and_hear_each_other(jono: StartJono, tmp_path: Path) -> None:
    server = jono(base_config(trunk=False))
    tone_a = write_tone(tmp_path / "a440.wav", 440, 4)
    tone_b = write_tone(tmp_path / "b1000.wav", 1000, 4)
    heard_by_a, heard_by_b = tmp_path / "heard_by_alice.wav", tmp_path / "heard_by_bob.wav"

    with (
        _registered(server, tmp_path, "alice", "alice", "alicepw") as alice,
        _registered(server, tmp_path, "bob", "bob", "bobpw") as bob,
    ):
        alice.play(tone_a)
        bob.play(tone_b)
        alice.record(heard_by_a)
        bob.record(heard_by_b)
        bob.auto_answer(200)

        alice.call(server.uri("1002"))
        incoming = bob.wait_incoming()
        assert alice.wait_state("CONFIRMED")["code"] == 200
        bob.wait_state("CONFIRMED")
        alice.wait_rtp(10)
        bob.wait_rtp(10)
        time.sleep(TALK_S)
        alice.hangup()
        assert bob.wait_state("DISCONNECTED")["code"] in (200, 487), bob.history
        alice.wait_state("DISCONNECTED")
        alice.stop_record()
        bob.stop_record()

    assert "1001" in incoming["from"] or "alice" in incoming["from"], incoming
    assert abs(dominant_frequency(heard_by_b) - 440) < 20
    assert abs(dominant_frequency(heard_by_a) - 1000) < 20


def test_callee_hangup_disconnects_caller_over_tcp(jono: StartJono, tmp_path: Path) -> None:
    server = jono(base_config(trunk=False))

    with (
        _registered(server, tmp_path, "alice", "alice", "alicepw", "tcp") as alice,
        _registered(server, tmp_path, "bob", "bob", "bobpw", "tcp") as bob,
    ):
        bob.auto_answer(200)
        alice.call(server.uri("1002", "tcp"))
        bob.wait_incoming()
        alice.wait_state("CONFIRMED")
        bob.wait_state("CONFIRMED")
        bob.hangup()
        bob.wait_state("DISCONNECTED")
        assert alice.wait_state("DISCONNECTED")["code"] == 200, alice.history


def test_caller_cancel_stops_the_ringing_callee(jono: StartJono, tmp_path: Path) -> None:
    server = jono(base_config(trunk=False))

    with (
        _registered(server, tmp_path, "alice", "alice", "alicepw") as alice,
        _registered(server, tmp_path, "bob", "bob", "bobpw") as bob,
    ):
        alice.call(server.uri("1002"))
        bob.wait_incoming()
        alice.wait_state("EARLY")  # 180 came back through the server
        alice.hangup()
        assert alice.wait_state("DISCONNECTED")["code"] == 487, alice.history
        assert bob.wait_state("DISCONNECTED")["code"] == 487, bob.history


def test_call_forks_to_every_device_and_the_others_stop_ringing(
    jono: StartJono, tmp_path: Path
) -> None:
    server = jono(base_config(trunk=False))

    with (
        _registered(server, tmp_path, "alice", "alice", "alicepw") as alice,
        _registered(server, tmp_path, "desk", "bob", "bobpw") as desk,
        _registered(server, tmp_path, "soft", "bob", "bobpw") as soft,
    ):
        alice.call(server.uri("1002"))
        desk.wait_incoming()
        soft.wait_incoming()
        soft.answer(200)
        alice.wait_state("CONFIRMED")
        soft.wait_state("CONFIRMED")
        # RFC 3261 section 16.7 point 10 (forking): the other branches are cancelled.
        assert desk.wait_state("DISCONNECTED")["code"] in (487, 200), desk.history
        alice.hangup()
        soft.wait_state("DISCONNECTED")
        alice.wait_state("DISCONNECTED")


def test_baresip_calls_pjsua_phone_through_the_server(jono: StartJono, tmp_path: Path) -> None:
    # baresip 1.0 (Debian 12) cannot answer any SHA-256 challenge: offer MD5 alone.
    config = base_config(trunk=False)
    config["server"]["digest_algorithms"] = ["MD5"]
    server = jono(config)
    tone = write_tone(tmp_path / "tone700.wav", 700, 4)
    heard_by_bob = tmp_path / "heard_by_bob.wav"

    with (
        _registered(server, tmp_path, "bob", "bob", "bobpw") as bob,
        Baresip(
            tmp_path / "baresip",
            user="alice",
            password="alicepw",
            registrar=server.address,
            source_wav=tone,
        ) as caller,
    ):
        caller.wait_registered()
        bob.auto_answer(200)
        bob.record(heard_by_bob)

        caller.dial(server.uri("1002"))
        bob.wait_incoming()
        bob.wait_state("CONFIRMED")
        caller.wait_event("CALL_ESTABLISHED")
        time.sleep(TALK_S)
        caller.hangup()
        caller.wait_event("CALL_CLOSED")
        assert bob.wait_state("DISCONNECTED")["code"] == 200, bob.history
        bob.stop_record()

    assert abs(dominant_frequency(heard_by_bob) - 700) < 20


def test_dtmf_digits_cross_the_server(jono: StartJono, tmp_path: Path) -> None:
    """RFC 4733 telephone-events from alice reach bob through the media path."""
    server = jono(base_config(trunk=False))
    tone = write_tone(tmp_path / "tone.wav", 500, 4)

    with (
        _registered(server, tmp_path, "alice", "alice", "alicepw") as alice,
        _registered(server, tmp_path, "bob", "bob", "bobpw") as bob,
    ):
        bob.auto_answer(200)
        alice.call(server.uri("1002"))
        alice.wait_state("CONFIRMED")
        bob.wait_state("CONFIRMED")
        alice.play(tone)
        bob.play(tone)
        # Media flows both ways through the relay before the first digit.
        alice.wait_rtp(10)
        bob.wait_rtp(10)
        alice.dtmf("159#")
        digits = [bob.wait_event("dtmf")["digit"] for _ in range(4)]
        alice.hangup()
        bob.wait_state("DISCONNECTED")

    assert digits == ["1", "5", "9", "#"]


def test_phone_with_wrong_password_is_not_registered(jono: StartJono, tmp_path: Path) -> None:
    server = jono(base_config(trunk=False))

    with PjsuaPhone(tmp_path, "alice") as alice:
        code = alice.register("alice", "not-alicepw", server.address)

    assert code in (401, 403), alice.history


def test_baresip_from_a_trunk_calls_registered_phone(jono: StartJono, tmp_path: Path) -> None:
    """Same call without digest on baresip's side: 127.0.0.1 is a trunk source."""
    server = jono(base_config(trunk=True))
    tone = write_tone(tmp_path / "tone700.wav", 700, 4)
    heard_by_bob = tmp_path / "heard_by_bob.wav"

    with (
        _registered(server, tmp_path, "bob", "bob", "bobpw") as bob,
        Baresip(tmp_path / "baresip", source_wav=tone) as caller,
    ):
        bob.auto_answer(200)
        bob.record(heard_by_bob)

        caller.dial(server.uri("1002"))
        bob.wait_incoming()
        bob.wait_state("CONFIRMED")
        caller.wait_event("CALL_ESTABLISHED")
        time.sleep(TALK_S)
        caller.hangup()
        caller.wait_event("CALL_CLOSED")
        assert bob.wait_state("DISCONNECTED")["code"] == 200, bob.history
        bob.stop_record()

    assert abs(dominant_frequency(heard_by_bob) - 700) < 20
