"""Recording a call on demand (O7): start, pause, resume, stop; kept compressed."""

from __future__ import annotations

import asyncio

import numpy as np
from acd_fakes import FakeServer, until
from test_call_parties import call_bob

from media.audio_files import decode_audio


async def test_start_pause_resume_stop_keeps_one_compressed_recording(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    recordings = server.jono.recordings
    them = call.parties[0]
    assert them.media is not None
    beep = np.zeros(800, dtype=np.int16)
    assert recordings.start(call, by="bob", announcement=beep)
    assert not recordings.start(call)  # one recording per call
    assert them.media.recorder is not None and them.media.playback is not None
    await asyncio.sleep(0.2)
    assert recordings.pause(call) and them.media.recorder is None
    await asyncio.sleep(0.1)
    assert recordings.resume(call) and them.media.recorder is not None
    await asyncio.sleep(0.2)
    assert recordings.stop(call)
    store = server.store.recordings
    await until(lambda: bool(store.kept))
    [kept] = store.kept
    assert kept.call_id == call.id and kept.started_by == "bob"
    assert 0.2 < kept.seconds < 1.0  # the pause is not in it
    assert kept.audio[:4] == b"OggS"
    assert len(decode_audio(kept.audio)) > 0.2 * 8000
    assert len(list(server.jono.recordings.spool.glob("*.wav"))) == 0


async def test_the_call_ending_stops_and_keeps_the_recording(server: FakeServer) -> None:
    caller, bob, call = await call_bob(server)
    assert server.jono.recordings.start(call)
    await asyncio.sleep(0.1)
    caller.bye()
    await until(lambda: bool(server.store.recordings.kept))
    assert not server.jono.recordings.active
