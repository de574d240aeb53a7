"""Transfers from pjsua2 phones (O7): blind by REFER (RFC 3515) to another phone
and to a queue, attended with Replaces (RFC 3891); after each, the two who
remain hear each other (tones decoded at both phones)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers.audio import dominant_frequency, write_tone
from peers.jono import JonoServer, StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from test_acd_queue_basics import acd_config, agent_state, phone, set_state, start_acd, wait_for

pytestmark = pytest.mark.e2e

TALK_S = 2.0


def _tones(tmp_path: Path, **phones: tuple[PjsuaPhone, int]) -> None:
    for name, (p, hz) in phones.items():
        p.play(write_tone(tmp_path / f"{name}_{hz}.wav", hz, 20))


class Heard:
    """What two phones heard of each other (read once the phones are closed:
    pjsua writes a WAV header when its recorder goes)."""

    def __init__(self, tmp_path: Path, a: PjsuaPhone, a_hz: int, b: PjsuaPhone, b_hz: int):
        self.a_path, self.b_path = tmp_path / "heard_a.wav", tmp_path / "heard_b.wav"
        self.a_hz, self.b_hz = a_hz, b_hz
        time.sleep(0.5)
        a.record(self.a_path)
        b.record(self.b_path)
        time.sleep(TALK_S)
        a.stop_record()
        b.stop_record()

    def check(self) -> None:
        """Each heard the other's tone."""
        heard_a, heard_b = dominant_frequency(self.a_path), dominant_frequency(self.b_path)
        assert abs(heard_a - self.b_hz) < 20, heard_a
        assert abs(heard_b - self.a_hz) < 20, heard_b


def _anchored(server_config: dict[str, object]) -> dict[str, object]:
    server_config["server"]["media"] = "anchor"  # type: ignore[index]
    return server_config


def test_blind_transfer_to_another_phone_then_both_hear_each_other(
    jono: StartJono, tmp_path: Path
) -> None:
    server = jono(_anchored(base_config(trunk=False)))
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
        incoming = carol.wait_incoming()
        carol.wait_state("CONFIRMED")
        # RFC 3515 §2.4.5: the transferor hears how it went.
        final = bob.wait_event("xfer_status", final=True, timeout=5)
        assert final["code"] == 200, bob.history
        bob.wait_state("DISCONNECTED")
        heard = Heard(tmp_path, alice, 440, carol, 1000)
        alice.hangup()
        carol.wait_state("DISCONNECTED")
    heard.check()
    assert "1001" in incoming["from"], incoming  # carol sees who is being transferred


def test_blind_transfer_to_a_busy_phone_reports_the_failure_and_keeps_the_call(
    jono: StartJono, tmp_path: Path
) -> None:
    server = jono(_anchored(base_config(trunk=False)))
    with (
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "carol") as carol,
    ):
        _tones(tmp_path, alice=(alice, 440), bob=(bob, 700))
        bob.auto_answer(200)
        alice.call(server.uri("1002"))
        alice.wait_state("CONFIRMED")
        bob.wait_state("CONFIRMED")
        carol.auto_answer(486)
        bob.transfer(server.uri("1003"))
        final = bob.wait_event("xfer_status", final=True, timeout=5)
        assert final["code"] == 486, bob.history
        heard = Heard(tmp_path, alice, 440, bob, 700)
        alice.hangup()
        bob.wait_state("DISCONNECTED")
    heard.check()


def test_blind_transfer_to_a_number_not_allowed_is_refused(
    jono: StartJono, tmp_path: Path
) -> None:
    config = _anchored(base_config(trunk=False))
    config["users"]["bob"]["dial"] = "internal"  # type: ignore[index]
    server = jono(config)
    with phone(server, tmp_path, "alice") as alice, phone(server, tmp_path, "bob") as bob:
        bob.auto_answer(200)
        alice.call(server.uri("1002"))
        bob.wait_state("CONFIRMED")
        bob.transfer(server.uri("0401234567"))
        status = bob.wait_event("xfer_status", final=True, timeout=5)
        assert status["code"] in (403, 503), status  # REFER declined: no call out for bob
        alice.hangup()
        bob.wait_state("DISCONNECTED")


def _two_queues(jono: StartJono) -> JonoServer:
    config = acd_config({"members": ["bob"]})
    config["queues"]["billing"] = {"members": ["carol"], "ring_time": 5, "priority": 5}
    config["numbers"]["5001"] = {"destination": "queue:billing"}
    return start_acd(jono, config)


def test_agent_blind_transfers_a_queue_caller_to_another_queue(
    jono: StartJono, tmp_path: Path
) -> None:
    server = _two_queues(jono)
    with (
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "carol") as carol,
    ):
        set_state(server, "bob", "ready")
        set_state(server, "carol", "ready")
        _tones(tmp_path, alice=(alice, 440), bob=(bob, 700), carol=(carol, 1000))
        bob.auto_answer(200)
        carol.auto_answer(200)
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        bob.wait_state("CONFIRMED")
        bob.transfer(server.uri("5001"))
        assert bob.wait_event("xfer_status", final=True, timeout=5)["code"] == 200
        bob.wait_state("DISCONNECTED")
        incoming = carol.wait_incoming(timeout=5)
        carol.wait_state("CONFIRMED")
        heard = Heard(tmp_path, alice, 440, carol, 1000)
        # bob's part of the call is over for the ACD: he is ready again (no wrap-up).
        wait_for(lambda: agent_state(server, "bob") == "ready", what="bob ready")
        assert agent_state(server, "carol") == "on_call"
        alice.hangup()
        carol.wait_state("DISCONNECTED")
    heard.check()
    assert "1001" in incoming["from"], incoming


def test_attended_transfer_with_replaces_joins_the_caller_and_the_consulted_phone(
    jono: StartJono, tmp_path: Path
) -> None:
    server = jono(_anchored(base_config(trunk=False)))
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
