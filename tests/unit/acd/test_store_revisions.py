"""The store's Alembic revisions form one line, a new store is built from
nothing by running them all, and stores at any released revision upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from acd.store import Store
from acd.store.db import MIGRATIONS, alembic_config


def at_revision(path: Path, revision: str) -> None:
    """A store as an older Jono left it: upgraded from nothing to ``revision``."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_the_revisions_form_one_line_from_0001_to_one_head() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        script = ScriptDirectory.from_config(alembic_config(connection))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
    line = [r.revision for r in script.walk_revisions()]
    assert all(not r.is_branch_point and not r.is_merge_point for r in script.walk_revisions())
    assert line[-1] == "0001" and len(line) == len(list(MIGRATIONS.glob("versions/0*.py")))
    assert line.index("0006") < line.index("0010")  # call control follows the web accounts


def test_alembic_upgrade_head_from_an_empty_database_builds_every_table(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    at_revision(path, "head")
    assert {"cdrs", "web_passwords", "api_tokens", "recordings", "recording_playbacks",
            "voicemail_messages", "voicemail_greetings", "user_call_settings"} <= tables(path)


@pytest.mark.parametrize("revision", ["0005", "0010"])
def test_a_store_at_an_older_revision_upgrades_and_keeps_its_records(
    tmp_path: Path, revision: str
) -> None:
    path = tmp_path / "old.db"
    at_revision(path, revision)
    assert "recordings" not in tables(path)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO cdrs (call_id, caller, callee, source, started_at, status, disposition)"
            " VALUES ('old-1', 'a', 'b', 'user:a', '2026-01-01 10:00:00', 200, 'answered')"
        )
    store = Store(f"sqlite:///{path}")
    try:
        assert [(r.call_id, r.hold_seconds, r.agent) for r in store.cdrs()] == [
            ("old-1", None, None)
        ]
    finally:
        store.close()
    assert {"recordings", "voicemail_messages", "web_passwords"} <= tables(path)
