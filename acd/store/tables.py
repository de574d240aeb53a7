"""The store's tables (SQLAlchemy 2.0 typed mappings).

A column added here needs an Alembic revision in ``acd/store/migrations``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class BindingRow(Base):
    """A registrar binding (P1), kept so registrations survive a restart."""

    __tablename__ = "bindings"

    aor: Mapped[str] = mapped_column(String(128), primary_key=True)
    contact: Mapped[str] = mapped_column(String(512), primary_key=True)
    expires_at_wall: Mapped[float] = mapped_column(Float)
    q: Mapped[float] = mapped_column(Float, default=1.0)
    call_id: Mapped[str] = mapped_column(String(256))
    cseq: Mapped[int] = mapped_column(Integer)
    source_transport: Mapped[str] = mapped_column(String(8))
    source_host: Mapped[str] = mapped_column(String(64))
    source_port: Mapped[int] = mapped_column(Integer)
    user_agent: Mapped[str | None] = mapped_column(String(256), nullable=True)


class CallRecord(Base):
    """A call detail record (S2)."""

    __tablename__ = "cdrs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(256), index=True)
    # A user by name, anyone else by E.164 number; the display name apart.
    caller: Mapped[str] = mapped_column(String(256))
    caller_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    callee: Mapped[str] = mapped_column(String(256))
    source: Mapped[str] = mapped_column(String(64))  # "user:alice" or "trunk:provider"
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    disposition: Mapped[str] = mapped_column(String(32))  # answered, busy, no_answer, ...
    ended_by: Mapped[str | None] = mapped_column(String(16), nullable=True)  # caller, callee, ...
    # Why it ended: bye, cancel, no ACK, media timeout, rejected, ...
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Per media leg (JSON): packets and bytes each way, packets lost and
    # interarrival jitter (RFC 3550 A.3, A.8) as Jono received them.
    media: Mapped[str | None] = mapped_column(Text, nullable=True)
    # O7: seconds someone held the call (hold is neither talk, wrap-up nor idle).
    hold_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The user who took the call: the queue's agent, else the dialled user who
    # answered (the agent desktop's "recent calls").
    agent: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)


class QueueEventRow(Base):
    """One step of the queue event log (S2): caller steps and agent state changes."""

    __tablename__ = "queue_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # entered, answered, ..., agent_state
    queue_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    call_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    wait: Mapped[float | None] = mapped_column(Float, nullable=True)
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class CallbackRow(Base):
    """A callback request (B1-B5): the caller's place, number and every attempt."""

    __tablename__ = "callback_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue_id: Mapped[str] = mapped_column(String(128), index=True)
    number: Mapped[str] = mapped_column(String(64))  # to call, E.164
    caller: Mapped[str] = mapped_column(String(256))  # the number they called from
    caller_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    variables: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    joined_at: Mapped[float] = mapped_column(Float)  # the caller's place: entry time
    requested_at: Mapped[float] = mapped_column(Float)
    window: Mapped[str | None] = mapped_column(String(16), nullable=True)
    eligible_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    expires_at: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[str] = mapped_column(Text)  # JSON list
    handler: Mapped[str | None] = mapped_column(String(128), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class RecordingRow(Base):
    """A call recording (O7): compressed audio kept with the call's record."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(256), index=True)
    queue_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seconds: Mapped[float] = mapped_column(Float)
    started_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    content_type: Mapped[str] = mapped_column(String(64))
    audio: Mapped[bytes] = mapped_column(LargeBinary)


class RecordingPlaybackRow(Base):
    """The audit line of one playback of a recording (who listened, when)."""

    __tablename__ = "recording_playbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(Integer, index=True)
    user: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(String(64), nullable=True)


class VoicemailRow(Base):
    """A voicemail message (P4): who left it, when, and the compressed audio."""

    __tablename__ = "voicemail_messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(128), index=True)
    caller: Mapped[str] = mapped_column(String(256))
    caller_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    call_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seconds: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(8))  # new, saved
    content_type: Mapped[str] = mapped_column(String(64))
    audio: Mapped[bytes] = mapped_column(LargeBinary)


class GreetingRow(Base):
    """A user's own voicemail greeting, recorded from the phone (*97)."""

    __tablename__ = "voicemail_greetings"

    mailbox: Mapped[str] = mapped_column(String(128), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content_type: Mapped[str] = mapped_column(String(64))
    audio: Mapped[bytes] = mapped_column(LargeBinary)


class UserCallSettingsRow(Base):
    """What a user set themselves (P4): forwarding by feature code or desktop,
    and a voicemail PIN set on the web; each overrides the dial plan's."""

    __tablename__ = "user_call_settings"

    user: Mapped[str] = mapped_column(String(128), primary_key=True)
    forward_always: Mapped[str | None] = mapped_column(String(256), nullable=True)
    forward_busy: Mapped[str | None] = mapped_column(String(256), nullable=True)
    forward_no_answer: Mapped[str | None] = mapped_column(String(256), nullable=True)
    voicemail_pin: Mapped[str | None] = mapped_column(String(256), nullable=True)  # a hash
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
class WebPasswordRow(Base):
    """A user's web password (argon2id hash; never the password, never the SIP one)."""

    __tablename__ = "web_passwords"

    user: Mapped[str] = mapped_column(String(128), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiTokenRow(Base):
    """An API (bearer) token: the SHA-256 of its secret, never the secret."""

    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    owner: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
