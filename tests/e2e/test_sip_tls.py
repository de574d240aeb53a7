"""SIP over TLS with pjsua2 (P1; RFC 3261 §26.2.1): phones register over TLS, are
called back over the connection they registered on, and talk (tones decoded).

The server runs without a certificate in its plan: it makes the self-signed
development pair under var/tls/ and says so in its log.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers.audio import dominant_frequency, write_tone
from peers.jono import JonoServer, StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from peers.ports import free_port

pytestmark = pytest.mark.e2e

TALK_S = 2.0


def _tls_config() -> dict[str, object]:
    config = base_config(trunk=False)
    config["server"]["tls"] = {"listen": f"127.0.0.1:{free_port()}"}  # type: ignore[index]
    return config


def _registered(
    server: JonoServer, tmp_path: Path, name: str, user: str, pw: str, transport: str
) -> PjsuaPhone:
    phone = PjsuaPhone(tmp_path, name)
    registrar = server.tls_address if transport == "tls" else server.address
    code = phone.register(user, pw, registrar, transport=transport)
    assert code == 200, f"{name}: REGISTER over {transport} ended with {code}\n{phone.history}"
    return phone


def _talk(caller: PjsuaPhone, callee: PjsuaPhone, uri: str, tmp_path: Path) -> tuple[Path, Path]:
    """Call, talk with tones, hang up; the recordings (final once the phones quit)."""
    tone_a = write_tone(tmp_path / "a440.wav", 440, 4)
    tone_b = write_tone(tmp_path / "b1000.wav", 1000, 4)
    heard_by_a, heard_by_b = tmp_path / "heard_by_caller.wav", tmp_path / "heard_by_callee.wav"
    caller.play(tone_a)
    callee.play(tone_b)
    caller.record(heard_by_a)
    callee.record(heard_by_b)
    callee.auto_answer(200)
    caller.call(uri)
    callee.wait_incoming()
    assert caller.wait_state("CONFIRMED")["code"] == 200
    callee.wait_state("CONFIRMED")
    caller.wait_rtp(10)
    callee.wait_rtp(10)
    time.sleep(TALK_S)
    caller.hangup()
    assert callee.wait_state("DISCONNECTED")["code"] in (200, 487), callee.history
    caller.wait_state("DISCONNECTED")
    caller.stop_record()
    callee.stop_record()
    return heard_by_b, heard_by_a


def test_phone_registered_over_tls_calls_a_tls_phone_and_both_hear(
    jono: StartJono, tmp_path: Path,
) -> None:
    server = jono(_tls_config())
    with (
        _registered(server, tmp_path, "alice", "alice", "alicepw", "tls") as alice,
        _registered(server, tmp_path, "bob", "bob", "bobpw", "tls") as bob,
    ):
        heard_by_bob, heard_by_alice = _talk(alice, bob, server.uri("1002", "tls"), tmp_path)
    assert abs(dominant_frequency(heard_by_bob) - 440) < 20
    assert abs(dominant_frequency(heard_by_alice) - 1000) < 20
    log = server.log_text()
    assert "self-signed certificate for development" in log
    assert (Path(server.workdir) / "var" / "tls" / "jono-dev.crt").is_file()
    assert "BEGIN PRIVATE KEY" not in log
    _called_back_over_its_registration(server, tmp_path / "bob_pjsua.log")


def test_udp_phone_calls_a_tls_phone(jono: StartJono, tmp_path: Path) -> None:
    server = jono(_tls_config())
    with (
        _registered(server, tmp_path, "alice", "alice", "alicepw", "udp") as alice,
        _registered(server, tmp_path, "bob", "bob", "bobpw", "tls") as bob,
    ):
        heard_by_bob, heard_by_alice = _talk(alice, bob, server.uri("1002"), tmp_path)
    assert abs(dominant_frequency(heard_by_bob) - 440) < 20
    assert abs(dominant_frequency(heard_by_alice) - 1000) < 20
    _called_back_over_its_registration(server, tmp_path / "bob_pjsua.log")


def _called_back_over_its_registration(server: JonoServer, pjsua_log: Path) -> None:
    """The INVITE came from Jono's TLS listening port: over the connection the
    phone opened to register (RFC 5626 §5.3), not a new one from Jono."""
    text = pjsua_log.read_text(errors="replace")
    assert "Request msg INVITE/cseq=1 (rdata" in text
    invite = next(line for line in text.splitlines() if "RX" in line and "Request msg INVITE" in line)
    assert invite.endswith(f"from TLS {server.tls_address}:"), invite
