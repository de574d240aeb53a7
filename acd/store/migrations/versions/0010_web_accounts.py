"""The web workplace: web password hashes, API tokens, and the agent on a call record."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "web_passwords",
        sa.Column("user", sa.String(128), primary_key=True),
        sa.Column("password_hash", sa.String(512), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_tokens_owner", "api_tokens", ["owner"])
    with op.batch_alter_table("cdrs") as batch:
        batch.add_column(sa.Column("agent", sa.String(128), nullable=True))
        batch.create_index("ix_cdrs_agent", ["agent"])


def downgrade() -> None:
    with op.batch_alter_table("cdrs") as batch:
        batch.drop_index("ix_cdrs_agent")
        batch.drop_column("agent")
    op.drop_index("ix_api_tokens_owner", "api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("web_passwords")
