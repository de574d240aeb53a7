"""The store: SQLAlchemy 2.0 over SQLite (default, under ``var/``) or PostgreSQL.

:class:`Store` is built once by the composition root; its engine and
session factory live as long as it does. Records (call records, queue
events) are queued to one writer thread (:mod:`acd.store.writer`); reads
open a short session each.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from acd.store.bindings import SqlBindingStore
from acd.store.callbacks import SqlCallbacks
from acd.store.db import make_engine
from acd.store.mailboxes import SqlMailboxes, SqlRecordings
from acd.store.tables import Base, BindingRow, CallRecord, QueueEventRow
from acd.store.writer import BackgroundWriter

__all__ = [
    "Base",
    "BindingRow",
    "CallRecord",
    "QueueEventRow",
    "SqlBindingStore",
    "Store",
    "make_engine",
    "utcnow",
]

_CDR_OPTIONAL: dict[str, Any] = {
    c.name: None for c in CallRecord.__table__.columns if c.nullable and c.name != "id"
}


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self.writer = BackgroundWriter(self.sessions)
        self.bindings = SqlBindingStore(self.writer, self.sessions)
        self.callbacks = SqlCallbacks(self.sessions)
        self.mailboxes = SqlMailboxes(self.sessions)
        self.recordings = SqlRecordings(self.sessions)

    def close(self) -> None:
        self.writer.close()
        self.engine.dispose()

    def add_cdr(self, **fields: Any) -> None:
        """Queue a call detail record (columns of :class:`CallRecord`)."""
        # Rows of one batch are written by one executemany: same keys in each.
        self.writer.insert(CallRecord.__tablename__, {**_CDR_OPTIONAL, **fields})

    def add_queue_event(self, **fields: Any) -> None:
        """Queue a queue event row (columns of :class:`QueueEventRow`)."""
        self.writer.insert(QueueEventRow.__tablename__, fields)

    def stats(self) -> dict[str, float]:
        """The writer's backlog, rows written, and how long its last batch took."""
        writer = self.writer
        return {
            "backlog": writer.queue.qsize(), "written": writer.written,
            "last_batch_s": writer.last_batch_s, "failed_batches": writer.failed_batches,
        }

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is written."""
        self.writer.flush(timeout)

    def cdrs(self) -> list[CallRecord]:
        with self.sessions() as session:
            return list(session.scalars(select(CallRecord).order_by(CallRecord.id)))


def utcnow() -> datetime:
    return datetime.now(UTC)
