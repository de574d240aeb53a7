"""Callback requests (B1-B5) live in the store: they survive a restart."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "callback_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("queue_id", sa.String(128), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("caller", sa.String(256), nullable=False),
        sa.Column("caller_name", sa.String(128), nullable=True),
        sa.Column("variables", sa.Text(), nullable=True),
        sa.Column("joined_at", sa.Float(), nullable=False),
        sa.Column("requested_at", sa.Float(), nullable=False),
        sa.Column("window", sa.String(16), nullable=True),
        sa.Column("eligible_at", sa.Float(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Text(), nullable=False),
        sa.Column("handler", sa.String(128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("claimed_until", sa.Float(), nullable=True),
        sa.Column("closed_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_callback_requests_queue_id", "callback_requests", ["queue_id"])
    op.create_index("ix_callback_requests_status", "callback_requests", ["status"])


def downgrade() -> None:
    op.drop_table("callback_requests")
