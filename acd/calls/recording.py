"""Call recording (O7): on demand (start, pause, resume, stop) or always for a queue.

Theory of operation
-------------------
A recording listens at one party's media leg - the call's first party, the
one the call is for (the caller of a queue) - and takes both directions:
what that phone sends (its own voice) and what Jono sends it (everyone it
hears, music on hold and announcements included), mixed to one channel.
While the call lasts the audio goes to WAV segments in a spool folder (a
pause ends a segment, a resume starts the next); when the recording stops
(or the call ends, or the recorded party leaves) the segments are joined,
compressed to Ogg/Opus off the event loop and kept in the store with the
call's id, the queue and who started it.

An optional announcement ("this call is recorded") is played to the
recorded party when recording starts; the others still hear it speak.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from acd.calls.call import Call
from acd.calls.party import Party
from media.audio_files import OGG_OPUS, SAMPLE_RATE, AudioFileError, encode_opus, read_wavs
from media.codecs import Pcm

log = structlog.stdlib.get_logger("jono.calls")

Spawn = Callable[[Coroutine[Any, Any, None]], None]
_serial = itertools.count(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRecording:
    call_id: str
    queue_id: str | None
    started_at: datetime
    seconds: float
    started_by: str | None
    content_type: str
    audio: bytes = field(default=b"", repr=False)
    id: int | None = None


class RecordingStore(Protocol):
    """Recordings kept with the call records, and who played each (audit)."""

    def add(self, recording: StoredRecording) -> int: ...
    def of_call(self, call_id: str) -> list[StoredRecording]: ...
    def recent(self, queues: list[str] | None, limit: int = 50) -> list[StoredRecording]: ...
    def get(self, recording_id: int) -> StoredRecording | None: ...
    def played(self, recording_id: int, user: str, source: str | None = None) -> None: ...
    def playbacks(self, recording_id: int) -> list[tuple[str, datetime]]: ...


class CallRecording:
    """One recording of one call, possibly in several segments."""

    def __init__(self, call: Call, party: Party, spool: Path, *, by: str | None,
                 queue: str | None) -> None:
        self.call = call
        self.party = party
        self.spool = spool
        self.started_by = by
        self.queue = queue
        self.started_at = datetime.now(UTC)
        self.segments: list[Path] = []
        self.paused = False
        self.stopped = False

    def _start_segment(self) -> bool:
        media = self.party.media
        if media is None or media.codec is None or media.closed:
            return False
        path = self.spool / f"{_safe(self.call.id)}-{next(_serial)}.wav"
        media.record(str(path), "both")
        self.segments.append(path)
        return True

    def _end_segment(self) -> None:
        media = self.party.media
        if media is not None:
            media.stop_recording()


class Recordings:
    """The recordings in progress, one at most per call."""

    def __init__(self, store: RecordingStore, spool: Path, spawn: Spawn) -> None:
        self.store = store
        self.spool = spool
        self.spawn = spawn
        self.active: dict[str, CallRecording] = {}
        self.kept = 0  # recordings stored so far (tests, metrics)

    def recording(self, call: Call) -> CallRecording | None:
        return self.active.get(call.id)

    def start(
        self, call: Call, *, by: str | None = None, queue: str | None = None,
        announcement: Pcm | None = None,
    ) -> bool:
        """Record ``call`` from now on; False when it is already recorded or
        has no anchored media to record."""
        if call.ended or call.id in self.active or not call.parties:
            return False
        party = call.caller
        self.spool.mkdir(parents=True, exist_ok=True)
        recording = CallRecording(call, party, self.spool, by=by, queue=queue)
        if not recording._start_segment():
            return False
        self.active[call.id] = recording
        call.on_end.append(self._call_ended)
        call.on_party_left.append(self._party_left)
        if announcement is not None and party.media is not None:
            party.media.play([announcement], interruptible=False)
        log.info("recording started", call_id=call.id, by=by, queue=queue)
        return True

    def pause(self, call: Call) -> bool:
        recording = self.active.get(call.id)
        if recording is None or recording.paused:
            return False
        recording._end_segment()
        recording.paused = True
        log.info("recording paused", call_id=call.id)
        return True

    def resume(self, call: Call) -> bool:
        recording = self.active.get(call.id)
        if recording is None or not recording.paused or not recording._start_segment():
            return False
        recording.paused = False
        log.info("recording resumed", call_id=call.id)
        return True

    def stop(self, call: Call) -> bool:
        recording = self.active.pop(call.id, None)
        if recording is None:
            return False
        recording.stopped = True
        if not recording.paused:
            recording._end_segment()
        if self._call_ended in call.on_end:
            call.on_end.remove(self._call_ended)
        if self._party_left in call.on_party_left:
            call.on_party_left.remove(self._party_left)
        self.spawn(self._keep(recording))
        return True

    def _call_ended(self, call: Call) -> None:
        self.stop(call)

    def _party_left(self, call: Call, party: Party) -> None:
        recording = self.active.get(call.id)
        if recording is not None and recording.party is party:
            self.stop(call)

    async def _keep(self, recording: CallRecording) -> None:
        """Join, compress and store the recording (in a worker thread)."""
        try:
            stored = await asyncio.to_thread(self._compress_and_store, recording)
        except Exception:
            log.exception("recording not kept", call_id=recording.call.id)
            return
        finally:
            for path in recording.segments:
                path.unlink(missing_ok=True)
        if stored is not None:
            self.kept += 1
            log.info("recording kept", call_id=recording.call.id, recording=stored.id,
                     seconds=round(stored.seconds, 1), bytes=len(stored.audio))

    def _compress_and_store(self, recording: CallRecording) -> StoredRecording | None:
        try:
            pcm = read_wavs(p for p in recording.segments if p.exists())
        except AudioFileError as err:
            log.warning("recording unreadable", call_id=recording.call.id, error=str(err))
            return None
        if not len(pcm):
            return None
        stored = StoredRecording(
            call_id=recording.call.id, queue_id=recording.queue,
            started_at=recording.started_at, seconds=len(pcm) / SAMPLE_RATE,
            started_by=recording.started_by, content_type=OGG_OPUS, audio=encode_opus(pcm),
        )
        return replace(stored, id=self.store.add(stored))


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80]
