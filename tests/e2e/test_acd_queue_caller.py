"""The caller's side of a queue on the real server (SPEC Q1-Q5, Q7, S2)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from peers.audio import dominant_frequency, read_wav, write_tone
from peers.jono import StartJono
from test_acd_queue_basics import acd_config, phone, set_state, start_acd, wait_for

pytestmark = pytest.mark.e2e

PROMPTS = Path(__file__).resolve().parents[2] / "prompts" / "en"


def _at_8k(path: Path) -> npt.NDArray[np.float64]:
    samples, rate = read_wav(path)
    if rate != 8000:
        step = rate // 8000
        samples = samples[: len(samples) // step * step].reshape(-1, step).mean(axis=1)
    return samples


def best_match(
    recording: npt.NDArray[np.float64], fragment: npt.NDArray[np.float64]
) -> tuple[float, int]:
    """Peak normalised cross-correlation of ``fragment`` against every
    same-length window of ``recording`` (1.0: the fragment is in there), and
    the sample offset of that window."""
    y = fragment - fragment.mean()
    m = len(y)
    size = len(recording) + m
    n = 1 << (size - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(recording, n) * np.conj(np.fft.rfft(y, n)), n)[
        : len(recording) - m + 1
    ]
    csum = np.concatenate([[0.0], np.cumsum(recording**2)])
    msum = np.concatenate([[0.0], np.cumsum(recording)])
    energy = csum[m:] - csum[:-m] - (msum[m:] - msum[:-m]) ** 2 / m
    score = np.abs(xc) / (np.sqrt(np.maximum(energy, 1e-12)) * np.linalg.norm(y))
    at = int(np.argmax(score))
    return float(score[at]), at


def piecewise_match(
    recording: npt.NDArray[np.float64], fragment: npt.NDArray[np.float64], piece_s: float = 0.25
) -> float:
    """Median of :func:`best_match` over the fragment's voiced 0.25 s pieces:
    a phone's jitter buffer stretching a frame here and there spoils a whole
    prompt's correlation but only the one piece it falls in."""
    size = int(piece_s * 8000)
    pieces = [fragment[i : i + size] for i in range(0, len(fragment) - size + 1, size)]
    loud = max(float(np.abs(fragment).max()), 1e-9)
    voiced = [piece for piece in pieces if float(np.abs(piece).max()) > 0.1 * loud]
    return float(np.median([best_match(recording, piece)[0] for piece in voiced]))


def _events(server_db: Path) -> list[tuple[str, str | None, float | None, int | None]]:
    with sqlite3.connect(server_db) as db:
        return list(
            db.execute(
                "SELECT kind, reason, wait, position FROM queue_events"
                " WHERE kind != 'agent_state' ORDER BY id"
            )
        )


def test_position_and_ewt_prompts_arrive_as_audio(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(
        jono,
        acd_config(
            {
                "members": ["bob"],
                "ring_time": 20,
                "announce_position": True,
                "announce_ewt": True,
                "default_handle_time": 100,
                "entry_announcement": "entry",
            },
            extra_users=1,
        )
        # A second of tone first: the phone's recorder may miss the first
        # moments of the call, and the position prompt must not be in them.
        | {"announcements": {"entry": {"file": str(write_tone(tmp_path / "entry.wav", 300, 1.0))}}},
    )
    heard = tmp_path / "heard_by_dave.wav"
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "dave1") as dave,
    ):
        set_state(server, "bob", "ready")
        alice.call(server.uri("5000"))
        bob.wait_incoming()  # bob rings for alice and does not answer
        dave.record(heard)
        dave.call(server.uri("5000"))
        dave.wait_state("CONFIRMED")
        time.sleep(7.0)  # tone, "you are caller number two, estimated wait less than a minute"
        dave.stop_record()
        dave.hangup()
        alice.hangup()

    recording = _at_8k(heard)
    # Each prompt that must be there, and a similar one that must not: the
    # phone's jitter buffer may stretch a few frames when the machine is
    # busy, so a prompt is recognised by matching better than its decoy.
    expected = {
        "you_are_caller_number": "you_are_next",
        "num_2": "num_3",
        "estimated_wait_is": "still_in_queue",
        "less_than_a_minute": "one_minute",
    }
    found = {name: best_match(recording, _at_8k(PROMPTS / f"{name}.wav")) for name in expected}
    for name, decoy in expected.items():
        pieces = piecewise_match(recording, _at_8k(PROMPTS / f"{name}.wav"))
        wrong, _ = best_match(recording, _at_8k(PROMPTS / f"{decoy}.wav"))
        assert pieces > 0.8 and found[name][0] > wrong + 0.1, (name, pieces, decoy, wrong, found)
    offsets = [found[name][1] for name in expected]
    assert offsets == sorted(offsets), found


def test_caller_overflows_to_a_user_after_max_wait(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(
        jono, acd_config({"members": ["bob"], "max_wait": 2, "on_max_wait": "user:carol"})
    )
    with phone(server, tmp_path, "carol") as carol, phone(server, tmp_path, "alice") as alice:
        carol.auto_answer(200)
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        joined = time.monotonic()
        carol.wait_incoming(timeout=5)
        waited = time.monotonic() - joined
        carol.wait_state("CONFIRMED")
        alice.hangup()
        carol.wait_state("DISCONNECTED")
    assert 1.5 <= waited <= 4.0, waited
    server.stop()
    events = _events(server.db_path)
    assert events[0][0] == "entered"
    assert ("overflowed", "max_wait") in [(k, r) for k, r, _, _ in events]


def test_caller_overflows_when_the_queue_is_full(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(
        jono,
        acd_config(
            {"members": ["bob"], "max_callers": 1, "on_max_callers": "user:carol"}, extra_users=1
        ),
    )
    with (
        phone(server, tmp_path, "carol") as carol,
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "dave1") as dave,
    ):
        carol.auto_answer(200)
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        dave.call(server.uri("5000"))
        incoming = carol.wait_incoming(timeout=5)
        carol.wait_state("CONFIRMED")
        dave.hangup()
        carol.wait_state("DISCONNECTED")
        alice.hangup()
    assert "1101" in incoming["from"], incoming  # dave overflowed, alice kept waiting


def test_exit_key_takes_the_caller_to_the_exit_destination(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(
        jono,
        acd_config({"members": ["bob"], "exit_key": "0", "exit_destination": "user:carol"}),
    )
    with phone(server, tmp_path, "carol") as carol, phone(server, tmp_path, "alice") as alice:
        carol.auto_answer(200)
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        alice.wait_rtp(10)
        alice.dtmf("0")
        carol.wait_incoming(timeout=5)
        carol.wait_state("CONFIRMED")
        alice.hangup()
        carol.wait_state("DISCONNECTED")


def test_answered_and_abandoned_calls_leave_queue_events(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(jono, acd_config({"members": ["bob"]}, extra_users=1))
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "dave1") as dave,
    ):
        set_state(server, "bob", "ready")
        bob.auto_answer(200)
        alice.call(server.uri("5000"))
        bob.wait_state("CONFIRMED")
        dave.call(server.uri("5000"))
        dave.wait_state("CONFIRMED")
        time.sleep(0.5)
        dave.hangup()  # abandons at position 1
        alice.hangup()
        bob.wait_state("DISCONNECTED")
        wait_for(lambda: True)
    server.stop()
    kinds = {(k, p) for k, _, _, p in _events(server.db_path)}
    assert ("answered", 1) in kinds
    assert ("abandoned", 1) in kinds


def test_caller_hears_ringback_while_an_agent_rings(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(
        jono, acd_config({"members": ["bob"], "ring_time": 10, "ringback_while_ringing": True})
    )
    heard = tmp_path / "heard_by_alice.wav"
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "alice") as alice:
        set_state(server, "bob", "ready")
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        bob.wait_incoming()
        alice.record(heard)
        time.sleep(2.5)
        alice.stop_record()
        alice.hangup()
        assert bob.wait_state("DISCONNECTED")["code"] == 487
    assert abs(dominant_frequency(heard, skip_s=0.2) - 425) < 15


def test_agent_hears_the_whisper_before_the_caller(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(jono, acd_config({"members": ["bob"], "whisper": True}))
    heard = tmp_path / "heard_by_bob.wav"
    tone = write_tone(tmp_path / "a440.wav", 440, 6)
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "alice") as alice:
        set_state(server, "bob", "ready")
        alice.play(tone)
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        bob.wait_incoming()
        bob.record(heard)
        bob.answer(200)
        bob.wait_state("CONFIRMED")
        time.sleep(2.0)
        bob.stop_record()
        alice.hangup()
        bob.wait_state("DISCONNECTED")
    samples, rate = read_wav(heard)
    beep = samples[: int(0.6 * rate)]
    spectrum = np.abs(np.fft.rfft(beep * np.hanning(len(beep))))
    first = float(np.fft.rfftfreq(len(beep), 1.0 / rate)[int(np.argmax(spectrum))])
    assert abs(first - 880) < 20, first  # the whisper beeps come first
    assert abs(dominant_frequency(heard, skip_s=1.0) - 440) < 20  # then the caller
