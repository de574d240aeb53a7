"""The first schema: registrar bindings, call records, queue events."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "bindings",
        sa.Column("aor", sa.String(128), primary_key=True),
        sa.Column("contact", sa.String(512), primary_key=True),
        sa.Column("expires_at_wall", sa.Float(), nullable=False),
        sa.Column("q", sa.Float(), nullable=False),
        sa.Column("call_id", sa.String(256), nullable=False),
        sa.Column("cseq", sa.Integer(), nullable=False),
        sa.Column("source_transport", sa.String(8), nullable=False),
        sa.Column("source_host", sa.String(64), nullable=False),
        sa.Column("source_port", sa.Integer(), nullable=False),
        sa.Column("user_agent", sa.String(256), nullable=True),
    )
    op.create_table(
        "cdrs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(256), nullable=False),
        sa.Column("caller", sa.String(256), nullable=False),
        sa.Column("callee", sa.String(256), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(32), nullable=False),
        sa.Column("ended_by", sa.String(16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_cdrs_call_id", "cdrs", ["call_id"])
    op.create_table(
        "queue_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("queue_id", sa.String(128), nullable=True),
        sa.Column("call_id", sa.String(256), nullable=True),
        sa.Column("agent_id", sa.String(128), nullable=True),
        sa.Column("wait", sa.Float(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_queue_events_at", "queue_events", ["at"])
    op.create_index("ix_queue_events_queue_id", "queue_events", ["queue_id"])


def downgrade() -> None:
    op.drop_table("queue_events")
    op.drop_table("cdrs")
    op.drop_table("bindings")
