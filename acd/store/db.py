"""The database engine and its schema: built once by the composition root.

The schema is Alembic's (``acd/store/migrations``): a new store is created
by running every revision, an older one is upgraded in place. A store made
before Jono used Alembic has no ``alembic_version`` table; it is stamped
with the revision its tables match, then upgraded, so upgrading keeps the
records.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, Engine

from acd.store.tables import Base

log = structlog.stdlib.get_logger("jono.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The tables Jono had before Alembic that no revision has changed since 0001.
BEFORE_ALEMBIC = ("bindings", "queue_events")
# Revisions a store without ``alembic_version`` can be at, newest first:
# (revision, a column that only stores at that revision or later have).
_UNVERSIONED = (("0002", ("cdrs", "media")), ("0001", ("cdrs", "call_id")))  # before Alembic


def make_engine(url: str, *, migrate: bool = True) -> Engine:
    """An engine for ``url`` (SQLite files get their folder), schema up to date."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if migrate:
        upgrade(engine)
    return engine


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision."""
    with engine.begin() as connection:
        config = alembic_config(connection)
        found = _unversioned_revision(connection)
        if found is not None:
            log.info("store without a schema version: stamping it %s", found)
            _create_missing_unchanged_tables(connection)
            command.stamp(config, found)
        command.upgrade(config, "head")


def _create_missing_unchanged_tables(connection: Connection) -> None:
    """Before Alembic, tables were created one by one as Jono first used
    them; the ones no revision has changed since 0001 are created as they are."""
    have = set(inspect(connection).get_table_names())
    missing = [
        t for t in Base.metadata.sorted_tables if t.name in BEFORE_ALEMBIC and t.name not in have
    ]
    Base.metadata.create_all(connection, tables=missing)


def _unversioned_revision(connection: Connection) -> str | None:
    tables = inspect(connection)
    names = set(tables.get_table_names())
    if "alembic_version" in names or "cdrs" not in names:
        return None
    columns = {c["name"] for c in tables.get_columns("cdrs")}
    for revision, (table, column) in _UNVERSIONED:
        if table == "cdrs" and column in columns:
            return revision
    return None
