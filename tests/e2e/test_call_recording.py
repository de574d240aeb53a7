"""A queue that records every call (O7): the recording kept in the store is
compressed audio holding both parties' voices (tones decoded from it)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from peers.audio import write_tone
from peers.jono import JonoServer, StartJono
from test_acd_queue_basics import acd_config, phone, set_state, start_acd, wait_for

from media.audio_files import decode_audio

pytestmark = pytest.mark.e2e


def _recordings(server: JonoServer) -> list[tuple[str, str | None, float, str, bytes]]:
    with sqlite3.connect(server.db_path) as db:
        try:
            return list(db.execute(
                "SELECT call_id, queue_id, seconds, content_type, audio FROM recordings"
            ))  # fmt: skip
        except sqlite3.OperationalError:
            return []


def _share(pcm: np.ndarray, hz: float, among: tuple[float, ...]) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1 / 8000)
    energy = {f: float(spectrum[np.abs(freqs - f) <= 15].sum()) for f in among}
    return energy[hz] / (sum(energy.values()) or 1.0)


def test_recorded_queue_call_keeps_both_parties_in_compressed_audio(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(jono, acd_config({"members": ["bob"], "record": True}))
    with phone(server, tmp_path, "alice") as alice, phone(server, tmp_path, "bob") as bob:
        set_state(server, "bob", "ready")
        alice.play(write_tone(tmp_path / "a.wav", 440, 10))
        bob.play(write_tone(tmp_path / "b.wav", 1000, 10))
        bob.auto_answer(200)
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        bob.wait_state("CONFIRMED")
        time.sleep(3.0)
        alice.hangup()
        bob.wait_state("DISCONNECTED")
    wait_for(lambda: bool(_recordings(server)), timeout=10, what="the recording in the store")
    [(call_id, queue, seconds, content_type, audio)] = _recordings(server)
    assert queue == "q" and content_type.startswith("audio/ogg")
    assert audio[:4] == b"OggS"
    assert 2.0 < seconds < 6.0, seconds
    assert len(audio) < seconds * 8000 * 2 / 4  # well under a quarter of 16-bit PCM
    pcm = decode_audio(audio)
    tones = (440.0, 1000.0)
    assert _share(pcm, 440.0, tones) > 0.1, "the caller's voice is missing"
    assert _share(pcm, 1000.0, tones) > 0.1, "the agent's voice is missing"

    def answered() -> list[str]:
        with sqlite3.connect(server.db_path) as db:
            return [r[0] for r in db.execute("SELECT call_id FROM cdrs WHERE status=200")]

    wait_for(lambda: bool(answered()), what="the call record")
    assert answered() == [call_id]  # kept with the call's record
