"""Callbacks end to end (issue 13; SPEC B1-B4, Q7): pjsua2 phones ask for a
callback from a busy queue, keep their place, and are called back when an
agent is free: the agent first (with its announcement), then the caller."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from peers.audio import dominant_frequency, read_wav, write_tone
from peers.callbacks import ask_for_callback
from peers.jono import JonoServer, StartJono
from test_acd_queue_basics import acd_config, phone, set_state, start_acd, wait_for

pytestmark = pytest.mark.e2e

AGENT_TONE_HZ = 700


def callback_config(tmp_path: Path, **callback: Any) -> dict[str, Any]:
    config = acd_config({"members": ["bob"], "ring_time": 8}, extra_users=2)
    announcement = write_tone(tmp_path / "for_agent.wav", AGENT_TONE_HZ, 1.0)
    config["announcements"] = {"for_agent": {"file": str(announcement)}}
    config["queues"]["q"]["callback"] = {
        "key": "1", "agent_announcement": "for_agent", "ring_time": 6, **callback,
    }
    return config


def requests(server: JonoServer) -> list[tuple[str, str, str, int]]:
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute(
            "SELECT number, status, attempts, joined_at FROM callback_requests ORDER BY joined_at"
        ).fetchall()
    return [(number, status, attempts, joined) for number, status, attempts, joined in rows]


def first_tone(path: Path, seconds: float) -> float:
    samples, rate = read_wav(path)
    piece = samples[: int(seconds * rate)]
    spectrum = np.abs(np.fft.rfft(piece * np.hanning(len(piece))))
    return float(np.fft.rfftfreq(len(piece), 1.0 / rate)[int(np.argmax(spectrum))])


def test_called_back_agent_first_and_both_hear_each_other(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(jono, callback_config(tmp_path))
    heard_by_bob, heard_by_alice = tmp_path / "bob.wav", tmp_path / "alice.wav"
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "alice") as alice:
        ask_for_callback(server, alice, "1")  # her own number (her extension)
        assert [(n, s) for n, s, _, _ in requests(server)] == [("1001", "pending")]
        alice.play(write_tone(tmp_path / "a440.wav", 440, 10))
        alice.auto_answer(200)
        bob.play(write_tone(tmp_path / "b880.wav", 880, 10))
        set_state(server, "bob", "ready")
        bob.wait_incoming(timeout=8)
        bob.record(heard_by_bob)
        bob.answer(200)
        bob.wait_state("CONFIRMED")
        alice.wait_incoming(timeout=8)  # after the agent answered
        alice.wait_state("CONFIRMED")
        alice.record(heard_by_alice)
        time.sleep(2.5)
        alice.stop_record()
        bob.stop_record()
        alice.hangup()
        bob.wait_state("DISCONNECTED")
    assert abs(first_tone(heard_by_bob, 0.8) - AGENT_TONE_HZ) < 25  # the announcement first
    assert abs(dominant_frequency(heard_by_bob, skip_s=2.0) - 440) < 20  # then alice
    assert abs(dominant_frequency(heard_by_alice, skip_s=0.5) - 880) < 20  # alice hears bob
    wait_for(lambda: requests(server)[0][1] == "done", what="the request closed as done")


def test_no_answer_is_retried_and_closed_after_the_last_attempt(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(jono, callback_config(tmp_path, attempts=2, retry_after=0, ring_time=2))
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "alice") as alice:
        ask_for_callback(server, alice, "1")
        alice.auto_answer(486)  # she is busy when called back
        bob.auto_answer(200)
        set_state(server, "bob", "ready")
        wait_for(lambda: requests(server)[0][1] == "failed", timeout=40,
                 what="two attempts, then the request closed as failed")
    number, status, attempts, _ = requests(server)[0]
    assert attempts.count('"outcome"') == 2 and '"busy"' in attempts


def test_a_caller_who_keys_in_another_number_is_called_there(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(jono, callback_config(tmp_path))
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "carol") as carol,
    ):
        ask_for_callback(server, alice, "2", "1003#")  # not mine: carol's extension
        assert [n for n, _, _, _ in requests(server)] == ["1003"]
        bob.auto_answer(200)
        carol.auto_answer(200)
        set_state(server, "bob", "ready")
        carol.wait_incoming(timeout=15)
        carol.wait_state("CONFIRMED")
        carol.hangup()


def test_the_request_keeps_the_callers_place_and_survives_a_restart(
    jono: StartJono, tmp_path: Path
) -> None:
    config = callback_config(tmp_path)
    server = start_acd(jono, config)
    with (
        phone(server, tmp_path, "dave1") as ahead,
        phone(server, tmp_path, "alice") as alice,
    ):
        ahead.call(server.uri("5000"))  # waits ahead of alice
        ahead.wait_state("CONFIRMED")
        time.sleep(0.5)
        ask_for_callback(server, alice, "1")
        ahead.hangup()
    joined = requests(server)[0][3]
    assert server.proc is not None
    server.proc.kill()  # kill -9: no chance to write anything more
    server.proc.wait()
    restarted = JonoServer(config, tmp_path / "restarted")
    db = restarted.command.index("--db") + 1
    restarted.command[db] = f"sqlite:///{server.db_path}"  # the first server's store
    restarted.db_path = server.db_path
    restarted.start()
    try:
        with (
            phone(restarted, tmp_path, "bob") as bob,
            phone(restarted, tmp_path, "dave2") as behind,
            phone(restarted, tmp_path, "alice") as alice,
        ):
            behind.call(restarted.uri("5000"))  # joins after alice's place
            behind.wait_state("CONFIRMED")
            alice.auto_answer(200)
            bob.auto_answer(200)
            set_state(restarted, "bob", "ready")
            alice.wait_incoming(timeout=15)  # the request first: called back before dave2
            alice.wait_state("CONFIRMED")
            assert requests(restarted)[0][3] == joined
            alice.hangup()
            behind.hangup()
    finally:
        restarted.stop()
