"""Web passwords and API tokens in SQLite behave as the reference repository
does; an older store gains the tables; an agent's recent calls read back."""

from __future__ import annotations

import importlib.util
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine

from acd.store import Store
from acd.store.accounts import SqlAccounts
from acd.store.db import alembic_config
from acd.store.recent import queue_steps_since, recent_calls
from acd.web.auth import ApiToken, MemoryAccounts, issue_token
from acd.web.auth.sessions import digest
from acd.web.auth.tokens import check_token

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
MIGRATION = Path(__file__).resolve().parents[4] / "acd/store/migrations/versions"


def web_revision():  # type: ignore[no-untyped-def]
    """The revision that adds the web tables (its number may change as others land)."""
    [path] = MIGRATION.glob("*_web_accounts.py")
    spec = importlib.util.spec_from_file_location("web_accounts_revision", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'jono.db'}")
    yield s
    s.close()


@pytest.fixture(params=["sql", "memory"])
def accounts(request: pytest.FixtureRequest, store: Store) -> SqlAccounts | MemoryAccounts:
    return SqlAccounts(store.sessions) if request.param == "sql" else MemoryAccounts()


async def test_a_password_hash_is_stored_replaced_and_read(accounts) -> None:  # type: ignore[no-untyped-def]
    assert await accounts.get_password_hash("bob") is None
    await accounts.set_password_hash("bob", "$argon2id$first")
    await accounts.set_password_hash("bob", "$argon2id$second")
    assert await accounts.get_password_hash("bob") == "$argon2id$second"
    assert await accounts.get_password_hash("carol") is None


async def test_tokens_are_found_by_hash_listed_oldest_first_and_revoked_once(accounts) -> None:  # type: ignore[no-untyped-def]
    text, first = await issue_token(accounts, owner="sue", name="TV", role="supervisor",
                                    now=NOW.timestamp())
    _, second = await issue_token(accounts, owner="bob", name="CRM", role="agent",
                                  now=(NOW + timedelta(seconds=1)).timestamp())
    found = await accounts.find_token(digest(text))
    assert found == first and found.created_at.tzinfo is not None
    assert [t.token_id for t in await accounts.list_tokens()] == [first.token_id, second.token_id]
    assert [t.token_id for t in await accounts.list_tokens("bob")] == [second.token_id]
    when = NOW + timedelta(minutes=5)
    assert await accounts.revoke_token(first.token_id, when)
    assert await accounts.revoke_token(first.token_id, when + timedelta(hours=1))
    assert not await accounts.revoke_token("000000000000", when)
    revoked = await accounts.find_token(digest(text))
    assert revoked is not None and revoked.revoked_at == when and not revoked.active
    assert await check_token(accounts, text, when.timestamp()) is None
    with pytest.raises(ValueError):
        await accounts.add_token(first)


async def test_a_use_is_recorded(accounts) -> None:  # type: ignore[no-untyped-def]
    text, token = await issue_token(accounts, owner="sue", name="TV", role="agent",
                                    now=NOW.timestamp())
    later = NOW + timedelta(minutes=2)
    assert await check_token(accounts, text, later.timestamp()) is not None
    [listed] = await accounts.list_tokens()
    assert isinstance(listed, ApiToken) and listed.last_used_at == later


async def test_the_store_keeps_only_hashes(store: Store) -> None:
    accounts = SqlAccounts(store.sessions)
    text, _ = await issue_token(accounts, owner="sue", name="TV", role="agent",
                                now=NOW.timestamp())
    await accounts.set_password_hash("sue", "$argon2id$v=19$hash")
    dump = "\n".join(sqlite3.connect(store.url.removeprefix("sqlite:///")).iterdump())
    assert text not in dump and text.split(".")[1] not in dump
    assert digest(text) in dump


def test_a_store_of_the_revision_before_gains_the_web_tables_and_keeps_its_records(
    tmp_path: Path,
) -> None:
    previous = web_revision().down_revision
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:  # one revision back: no web tables, no cdrs.agent
        command.upgrade(alembic_config(connection), previous)
    engine.dispose()
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO cdrs (call_id, caller, callee, source, started_at, status, disposition)"
            " VALUES ('old-1', 'a', 'b', 'user:a', '2026-01-01 10:00:00', 200, 'answered')"
        )
    store = Store(f"sqlite:///{path}")
    try:
        tables = {r[0] for r in sqlite3.connect(path).execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"web_passwords", "api_tokens"} <= tables
        assert [(r.call_id, r.agent) for r in store.cdrs()] == [("old-1", None)]
    finally:
        store.close()


def cdr(store: Store, call_id: str, **fields: object) -> None:
    row = {"call_id": call_id, "caller": "+358401112222", "callee": "9000", "source": "trunk:p",
           "started_at": NOW, "status": 200, "disposition": "answered", **fields}
    store.add_cdr(**row)


def test_an_agents_recent_calls_in_out_and_missed(store: Store) -> None:
    minute = timedelta(minutes=1)
    cdr(store, "in-1", agent="bob", answered_at=NOW, ended_at=NOW + minute)
    cdr(store, "out-1", source="originate:bob", callee="sip:+358409998888@gw:5060",
        caller="1002", started_at=NOW + 2 * minute, answered_at=NOW + 2 * minute,
        ended_at=NOW + 3 * minute, agent=None)
    cdr(store, "direct-missed", source="user:carol", callee="1002", caller="1003",
        started_at=NOW + 4 * minute, status=480, disposition="no_answer")
    cdr(store, "other", agent="carol")
    store.add_queue_event(at=NOW + 5 * minute, kind="entered", queue_id="sales",
                          call_id="queue-missed", agent_id=None)
    store.add_queue_event(at=NOW + 6 * minute, kind="no_answer", queue_id="sales",
                          call_id="queue-missed", agent_id="bob")
    store.add_queue_event(at=NOW + 1 * minute, kind="entered", queue_id="sales",
                          call_id="in-1", agent_id=None)
    cdr(store, "queue-missed", agent="carol", started_at=NOW + 5 * minute)
    store.flush()
    calls = recent_calls(store.sessions, "bob", "1002")
    assert [(c.call_id, c.direction, c.number, c.queue) for c in calls] == [
        ("queue-missed", "missed", "+358401112222", "sales"),
        ("direct-missed", "missed", "1003", None),
        ("out-1", "outbound", "+358409998888", None),
        ("in-1", "inbound", "+358401112222", "sales"),
    ]
    assert calls[2].seconds == 60.0 and calls[3].answered
    steps = queue_steps_since(store.sessions, NOW + 2 * minute)
    assert [(s.kind, s.agent) for s in steps] == [("entered", None), ("no_answer", "bob")]
