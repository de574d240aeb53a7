"""Recordings in SQLite: newest first per queue, each playback an audit line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from acd.calls.recording import StoredRecording
from acd.store import Store

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_recordings_read_back_newest_first_by_queue_with_their_audit(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        archive = store.recordings
        for n, queue in enumerate(["sales", "support", "sales"]):
            archive.add(StoredRecording(call_id=f"c{n}", queue_id=queue, started_at=NOW,
                                        seconds=1.0 + n, started_by=None,
                                        content_type="audio/ogg", audio=b"OggS%d" % n))
        assert [r.call_id for r in archive.recent(["sales"])] == ["c2", "c0"]
        assert [r.call_id for r in archive.recent(None, limit=2)] == ["c2", "c1"]
        found = archive.get(2)
        assert found is not None and found.audio == b"OggS1" and found.queue_id == "support"
        archive.played(2, "sue", "web")
        archive.played(2, "ada", "web")
        assert [user for user, _ in archive.playbacks(2)] == ["sue", "ada"]
    finally:
        store.close()
