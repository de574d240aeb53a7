"""Call records keep each media leg's RTP figures (packets, loss, jitter)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("cdrs") as batch:
        batch.add_column(sa.Column("media", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cdrs") as batch:
        batch.drop_column("media")
