"""Alembic's environment: runs on the connection the store passes in."""

from __future__ import annotations

from alembic import context

from acd.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
