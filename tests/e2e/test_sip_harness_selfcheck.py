"""The peers work with each other, without Jono: proof that the harness is sound.

If one of these fails, the e2e failures against the server say nothing.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
from peers.audio import correlation, dominant_frequency, wav_correlation, write_tone
from peers.baresip import Baresip
from peers.jono import JonoServer, base_config
from peers.pjsua_client import PjsuaPhone
from peers.sipp import parse_message_log, parse_stat_csv, run_sipp, sipp_uas

pytestmark = pytest.mark.e2e

PAIRS = [
    ("uac_bye_caller", "uas_answer"),
    ("uac_wait_bye", "uas_bye_callee"),
    ("invite_cancel", "uas_ring"),
]


def test_audio_helpers_find_the_tone_and_correlate(tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "t.wav", 1000, 1.5)
    other = write_tone(tmp_path / "o.wav", 440, 1.5)
    rng = np.random.default_rng(1)
    signal = rng.standard_normal(4000)
    delayed = np.concatenate([np.zeros(123), 0.3 * signal])

    assert abs(dominant_frequency(tone) - 1000) < 5
    assert abs(dominant_frequency(other) - 440) < 5
    assert correlation(signal, delayed) > 0.99
    assert correlation(signal, rng.standard_normal(4000)) < 0.1
    assert wav_correlation(tone, tone) > 0.99


def test_builtin_sipp_uac_completes_calls_against_sipp_uas(tmp_path: Path) -> None:
    with sipp_uas("uas", workdir=tmp_path / "uas") as uas:
        result = run_sipp("uac", uas.contact, workdir=tmp_path / "uac", calls=3, rate=20)

    assert result.ok, result.describe()
    assert result.successful == 3
    assert len(uas.stop().received(method="INVITE")) == 3


@pytest.mark.parametrize("transport", [pytest.param("un", id="udp"), pytest.param("t1", id="tcp")])
@pytest.mark.parametrize(("uac", "uas_name"), PAIRS)
def test_our_scenarios_pass_peer_to_peer(
    tmp_path: Path, uac: str, uas_name: str, transport: str
) -> None:
    with sipp_uas(uas_name, workdir=tmp_path / "uas", transport=transport) as uas:
        caller = run_sipp(
            uac, uas.contact, workdir=tmp_path / "uac", service="2000", transport=transport
        )
        callee = uas.wait_calls(1)

    assert caller.ok, caller.describe()
    assert callee.successful == 1 and callee.failed == 0, callee.describe()


def test_withheld_ack_makes_a_sipp_uas_repeat_its_200(tmp_path: Path) -> None:
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        caller = run_sipp("uac_no_ack", uas.contact, workdir=tmp_path / "uac", service="2000")
        callee = uas.wait_calls(1)

    assert caller.ok, caller.describe()
    assert (
        len([m for m in caller.received(status=200) if "INVITE" in (m.header("cseq") or "")]) >= 2
    )
    assert callee.successful == 1, callee.describe()


def test_retransmit_scenario_sends_identical_invites(tmp_path: Path) -> None:
    with sipp_uas("uas_ring_then_answer", workdir=tmp_path / "uas", extra=["-aa"]) as uas:
        caller = run_sipp(
            "invite_retransmit", uas.contact, workdir=tmp_path / "uac", service="2000"
        )
        callee = uas.wait_calls(1)

    assert caller.ok, caller.describe()
    first, second = caller.sent(method="INVITE")[:2]
    assert first.text == second.text
    # A SIPp UAS is no transaction layer: it sees both copies (Jono must not).
    assert len(callee.received(method="INVITE")) == 2


@pytest.mark.parametrize(
    ("first", "second", "ok"), [("MD5", "SHA-256", True), ("SHA-256", "MD5", False)]
)
def test_sipp_digest_answers_only_the_first_challenge(
    tmp_path: Path, first: str, second: str, ok: bool
) -> None:
    """SIPp 3.6 fact: it reads the first WWW-Authenticate only and knows no SHA-256."""
    keys = {"user": "alice", "pw": "alicepw", "first_alg": first, "second_alg": second}
    with sipp_uas("selfcheck_registrar", workdir=tmp_path / "reg", keys=keys) as registrar:
        result = run_sipp(
            "register_auth",
            registrar.contact,
            workdir=tmp_path / "uac",
            service="alice",
            auth=("alice", "alicepw"),
        )

    assert result.ok is ok, result.describe()
    if not ok:
        assert "must use MD5" in result.errors


@pytest.mark.parametrize(
    ("first", "second", "ok"),
    [("MD5", "MD5", True), ("MD5", "SHA-256", False), ("SHA-256", "MD5", False)],
)
def test_baresip_digest_fails_whenever_sha256_is_offered(
    tmp_path: Path, first: str, second: str, ok: bool
) -> None:
    """baresip 1.0 (libre) fact: any non-MD5 challenge makes REGISTER fail with ENOSYS."""
    keys = {"user": "alice", "pw": "alicepw", "first_alg": first, "second_alg": second}
    with (
        sipp_uas("selfcheck_registrar", workdir=tmp_path / "reg", keys=keys) as registrar,
        Baresip(
            tmp_path / "bs", user="alice", password="alicepw", registrar=registrar.contact
        ) as phone,
    ):
        if ok:
            phone.wait_registered(timeout=3)
        else:
            with pytest.raises(AssertionError, match="Function not implemented"):
                phone.wait_registered(timeout=1.5)


def test_two_pjsua_phones_hear_each_other_directly(tmp_path: Path) -> None:
    tone_a = write_tone(tmp_path / "a.wav", 440, 4)
    tone_b = write_tone(tmp_path / "b.wav", 1000, 4)
    heard_by_a, heard_by_b = tmp_path / "ha.wav", tmp_path / "hb.wav"

    with PjsuaPhone(tmp_path, "a") as a, PjsuaPhone(tmp_path, "b") as b:
        a.play(tone_a)
        b.play(tone_b)
        a.record(heard_by_a)
        b.record(heard_by_b)
        b.auto_answer(200)
        a.call(f"sip:phone@{b.contact}")
        b.wait_incoming()
        a.wait_state("CONFIRMED")
        time.sleep(2.0)
        a.dtmf("15#")
        digits = [b.wait_event("dtmf")["digit"] for _ in range(3)]
        a.hangup()
        assert b.wait_state("DISCONNECTED")["code"] == 200
        a.stop_record()
        b.stop_record()
        assert a.quit() == 0
        assert b.quit() == 0

    assert digits == ["1", "5", "#"]
    assert abs(dominant_frequency(heard_by_b) - 440) < 20
    assert abs(dominant_frequency(heard_by_a) - 1000) < 20


def test_baresip_calls_pjsua_phone_directly(tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "t.wav", 700, 4)
    heard = tmp_path / "heard.wav"

    with PjsuaPhone(tmp_path, "p") as phone, Baresip(tmp_path / "bs", source_wav=tone) as bs:
        phone.auto_answer(200)
        phone.record(heard)
        bs.dial(f"sip:phone@{phone.contact}")
        phone.wait_state("CONFIRMED")
        bs.wait_event("CALL_ESTABLISHED")
        time.sleep(1.5)
        bs.hangup()
        bs.wait_event("CALL_CLOSED")
        assert phone.wait_state("DISCONNECTED")["code"] == 200
        phone.stop_record()

    assert abs(dominant_frequency(heard) - 700) < 20


def test_message_log_parser_splits_messages_and_headers() -> None:
    log = (
        "----------------------------------------------- 2026-11-23 12:00:00.000000\n"
        "UDP message sent (120 bytes):\n\n"
        "REGISTER sip:127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1\n"
        "CSeq: 1 REGISTER\nContent-Length: 0\n\n\n"
        "----------------------------------------------- 2026-11-23 12:00:00.001000\n"
        "UDP message received [99] bytes :\n\n"
        'SIP/2.0 401 Unauthorized\nWWW-Authenticate: Digest realm="jono",\n'
        " algorithm=MD5\nCSeq: 1 REGISTER\n\n"
    )

    sent, received = parse_message_log(log)

    assert (sent.direction, sent.method, sent.status) == ("sent", "REGISTER", None)
    assert (received.direction, received.method, received.status) == ("received", None, 401)
    assert received.header_names() == ["www-authenticate", "cseq"]
    assert received.header("WWW-Authenticate") == 'Digest realm="jono", algorithm=MD5'


def test_stat_parser_reads_the_last_row() -> None:
    csv = "SuccessfulCall(C);FailedCall(C);Retransmissions(C);\n0;0;0;\n3;1;2;\n"

    assert parse_stat_csv(csv) == {
        "SuccessfulCall(C)": "3",
        "FailedCall(C)": "1",
        "Retransmissions(C)": "2",
    }


def test_jono_is_restarted_on_fresh_ports_when_its_ports_were_taken(tmp_path: Path) -> None:
    """Another process may bind a port between ``free_port`` and Jono's bind:
    Jono says it cannot listen (the harness retries only on that message) or
    logs that its HTTP API did not start, and the harness retries."""
    taken_udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken_tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with taken_udp, taken_tcp:
        taken_udp.bind(("127.0.0.1", 0))
        taken_tcp.bind(("127.0.0.1", 0))
        sip_port, http_port = taken_udp.getsockname()[1], taken_tcp.getsockname()[1]
        config = base_config()
        config["server"]["http"] = f"127.0.0.1:{http_port}"
        server = JonoServer(config, tmp_path / "jono", port=sip_port)
        try:
            server.start()
            assert server.port != sip_port
            assert server.config["server"]["http"] != f"127.0.0.1:{http_port}"
            assert "HTTP API on" in server.log_text(), server.log_text()
        finally:
            server.stop()
