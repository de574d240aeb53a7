"""Call control (issue 14): hold time on call records, call recordings and who
played them, voicemail messages and greetings, users' own forwarding and PIN.

It follows 0010 (the web accounts), which reached main first: stores already
at 0010 then upgrade through it (its number is older than its place)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0010"


def upgrade() -> None:
    op.add_column("cdrs", sa.Column("hold_seconds", sa.Float(), nullable=True))
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(256), nullable=False),
        sa.Column("queue_id", sa.String(128), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("started_by", sa.String(128), nullable=True),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_recordings_call_id", "recordings", ["call_id"])
    op.create_index("ix_recordings_queue_id", "recordings", ["queue_id"])
    op.create_table(
        "recording_playbacks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(64), nullable=True),
    )
    op.create_index(
        "ix_recording_playbacks_recording_id", "recording_playbacks", ["recording_id"]
    )
    op.create_table(
        "voicemail_messages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("mailbox", sa.String(128), nullable=False),
        sa.Column("caller", sa.String(256), nullable=False),
        sa.Column("caller_name", sa.String(128), nullable=True),
        sa.Column("call_id", sa.String(256), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_voicemail_messages_mailbox", "voicemail_messages", ["mailbox"])
    op.create_table(
        "voicemail_greetings",
        sa.Column("mailbox", sa.String(128), primary_key=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "user_call_settings",
        sa.Column("user", sa.String(128), primary_key=True),
        sa.Column("forward_always", sa.String(256), nullable=True),
        sa.Column("forward_busy", sa.String(256), nullable=True),
        sa.Column("forward_no_answer", sa.String(256), nullable=True),
        sa.Column("voicemail_pin", sa.String(256), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "user_call_settings", "voicemail_greetings", "voicemail_messages",
        "recording_playbacks", "recordings",
    ):
        op.drop_table(table)
    with op.batch_alter_table("cdrs") as batch:
        batch.drop_column("hold_seconds")
