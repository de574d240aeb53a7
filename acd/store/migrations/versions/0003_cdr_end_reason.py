"""Call records say why a call ended (bye, cancel, no ACK, media timeout, ...)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("cdrs") as batch:
        batch.add_column(sa.Column("end_reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cdrs") as batch:
        batch.drop_column("end_reason")
