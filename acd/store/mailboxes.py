"""Mailboxes, users' own call settings and call recordings in the store (P4, O7).

Writes are committed before they return (a message the caller heard saved
is saved); the application calls these from worker threads, so the event
loop never waits for the disk.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from acd.calls.mailbox import NEW, SAVED, CallSettings, VoiceMessage, ordered
from acd.calls.recording import StoredRecording
from acd.store.tables import (
    GreetingRow,
    RecordingPlaybackRow,
    RecordingRow,
    UserCallSettingsRow,
    VoicemailRow,
)


class SqlMailboxes:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def add_message(self, message: VoiceMessage) -> None:
        with self.sessions.begin() as session:
            session.add(VoicemailRow(
                id=message.id, mailbox=message.mailbox, caller=message.caller,
                caller_name=message.caller_name, call_id=message.call_id,
                received_at=message.received_at, seconds=message.seconds, status=message.status,
                content_type=message.content_type, audio=message.audio,
            ))  # fmt: skip

    def messages(self, mailbox: str, *, audio: bool = False) -> list[VoiceMessage]:
        query = select(VoicemailRow).where(VoicemailRow.mailbox == mailbox)
        with self.sessions() as session:
            found = [_message(row, audio=audio) for row in session.scalars(query)]
        return ordered(found)

    def message(self, message_id: str) -> VoiceMessage | None:
        with self.sessions() as session:
            row = session.get(VoicemailRow, message_id)
            return _message(row, audio=True) if row is not None else None

    def set_status(self, message_id: str, status: str) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(VoicemailRow).where(VoicemailRow.id == message_id).values(status=status)
            )

    def delete(self, message_id: str) -> None:
        with self.sessions.begin() as session:
            session.execute(delete(VoicemailRow).where(VoicemailRow.id == message_id))

    def counts(self, mailbox: str) -> tuple[int, int]:
        query = (
            select(VoicemailRow.status, func.count())
            .where(VoicemailRow.mailbox == mailbox)
            .group_by(VoicemailRow.status)
        )
        with self.sessions() as session:
            by_status = {status: count for status, count in session.execute(query)}
        return int(by_status.get(NEW, 0)), int(by_status.get(SAVED, 0))

    def greeting(self, mailbox: str) -> bytes | None:
        with self.sessions() as session:
            row = session.get(GreetingRow, mailbox)
            return bytes(row.audio) if row is not None else None

    def set_greeting(self, mailbox: str, audio: bytes, content_type: str) -> None:
        with self.sessions.begin() as session:
            session.merge(GreetingRow(
                mailbox=mailbox, recorded_at=datetime.now(UTC), content_type=content_type,
                audio=audio,
            ))  # fmt: skip

    def settings(self, user: str) -> CallSettings:
        with self.sessions() as session:
            row = session.get(UserCallSettingsRow, user)
            return _settings(row) if row is not None else CallSettings()

    def update_settings(self, user: str, **changes: str | None) -> CallSettings:
        with self.sessions.begin() as session:
            row = session.get(UserCallSettingsRow, user)
            current = _settings(row) if row is not None else CallSettings()
            updated = replace(current, **changes)
            session.merge(UserCallSettingsRow(
                user=user, forward_always=updated.forward_always,
                forward_busy=updated.forward_busy, forward_no_answer=updated.forward_no_answer,
                voicemail_pin=updated.voicemail_pin, updated_at=datetime.now(UTC),
            ))  # fmt: skip
        return updated


class SqlRecordings:
    """Call recordings and the audit line of each playback."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def add(self, recording: StoredRecording) -> int:
        with self.sessions.begin() as session:
            row = RecordingRow(
                call_id=recording.call_id, queue_id=recording.queue_id,
                started_at=recording.started_at, seconds=recording.seconds,
                started_by=recording.started_by, content_type=recording.content_type,
                audio=recording.audio,
            )  # fmt: skip
            session.add(row)
            session.flush()
            return int(row.id)

    def of_call(self, call_id: str) -> list[StoredRecording]:
        query = select(RecordingRow).where(RecordingRow.call_id == call_id).order_by(RecordingRow.id)
        with self.sessions() as session:
            return [_recording(row, audio=False) for row in session.scalars(query)]

    def recent(self, queues: list[str] | None, limit: int = 50) -> list[StoredRecording]:
        """The newest recordings, of ``queues`` only (None: all), newest first."""
        query = select(RecordingRow).order_by(RecordingRow.id.desc()).limit(limit)
        if queues is not None:
            query = query.where(RecordingRow.queue_id.in_(queues))
        with self.sessions() as session:
            return [_recording(row, audio=False) for row in session.scalars(query)]

    def get(self, recording_id: int) -> StoredRecording | None:
        with self.sessions() as session:
            row = session.get(RecordingRow, recording_id)
            return _recording(row, audio=True) if row is not None else None

    def played(self, recording_id: int, user: str, source: str | None = None) -> None:
        """The audit line: ``user`` played recording ``recording_id`` now."""
        with self.sessions.begin() as session:
            session.add(RecordingPlaybackRow(
                recording_id=recording_id, user=user, at=datetime.now(UTC), source=source,
            ))  # fmt: skip

    def playbacks(self, recording_id: int) -> list[tuple[str, datetime]]:
        query = (
            select(RecordingPlaybackRow.user, RecordingPlaybackRow.at)
            .where(RecordingPlaybackRow.recording_id == recording_id)
            .order_by(RecordingPlaybackRow.id)
        )
        with self.sessions() as session:
            return [(user, at) for user, at in session.execute(query)]


def _message(row: VoicemailRow, *, audio: bool) -> VoiceMessage:
    return VoiceMessage(
        id=row.id, mailbox=row.mailbox, caller=row.caller, caller_name=row.caller_name,
        received_at=row.received_at, seconds=row.seconds, status=row.status,
        call_id=row.call_id, content_type=row.content_type,
        audio=bytes(row.audio) if audio else b"",
    )


def _settings(row: UserCallSettingsRow) -> CallSettings:
    return CallSettings(
        forward_always=row.forward_always, forward_busy=row.forward_busy,
        forward_no_answer=row.forward_no_answer, voicemail_pin=row.voicemail_pin,
    )


def _recording(row: RecordingRow, *, audio: bool) -> StoredRecording:
    return StoredRecording(
        id=row.id, call_id=row.call_id, queue_id=row.queue_id, started_at=row.started_at,
        seconds=row.seconds, started_by=row.started_by, content_type=row.content_type,
        audio=bytes(row.audio) if audio else b"",
    )
