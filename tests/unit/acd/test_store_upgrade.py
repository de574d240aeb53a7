"""A store written by an older Jono gains the new columns and keeps its rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from acd.store import Store


def test_an_older_store_gains_new_columns_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the cdrs table before the media column
        db.execute(
            "CREATE TABLE cdrs (id INTEGER PRIMARY KEY, call_id VARCHAR(256), caller VARCHAR(256),"
            " callee VARCHAR(256), source VARCHAR(64), started_at DATETIME, answered_at DATETIME,"
            " ended_at DATETIME, status INTEGER, disposition VARCHAR(32), ended_by VARCHAR(16),"
            " detail TEXT)"
        )
        db.execute(
            "INSERT INTO cdrs (call_id, caller, callee, source, started_at, status, disposition)"
            " VALUES ('old-1', 'a', 'b', 'user:a', '2026-01-01 10:00:00', 200, 'answered')"
        )
    store = Store(f"sqlite:///{path}")
    try:
        now = datetime.now(UTC)
        store.add_cdr(call_id="new-1", caller="a", callee="b", source="user:a", started_at=now,
                      status=200, disposition="answered", media='{"caller": {}}')
        store.add_cdr(call_id="new-2", caller="a", callee="b", source="user:a", started_at=now,
                      status=487, disposition="abandoned")
        store.writer.flush()
        rows = {r.call_id: r.media for r in store.cdrs()}
    finally:
        store.close()
    assert rows == {"old-1": None, "new-1": '{"caller": {}}', "new-2": None}


def test_the_migrations_make_exactly_the_tables_the_code_uses(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from acd.store import Base, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "a table or column changed without an Alembic revision"
