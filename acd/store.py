"""The store: SQLAlchemy 2.0 tables for registrations and call records.

SQLite under ``var/`` by default, PostgreSQL in production.  Writes that
are not needed to answer the current message (call records, binding
refreshes) go through :class:`BackgroundWriter`, a single thread that owns
its own sessions, so the event loop never waits for the disk.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from sip.registrar import Binding
from sip.transport import Target

log = logging.getLogger("jono.store")


class Base(DeclarativeBase):
    pass


class BindingRow(Base):
    __tablename__ = "bindings"

    aor: Mapped[str] = mapped_column(String(128), primary_key=True)
    contact: Mapped[str] = mapped_column(String(512), primary_key=True)
    expires_at_wall: Mapped[float] = mapped_column(Float)
    q: Mapped[float] = mapped_column(Float, default=1.0)
    call_id: Mapped[str] = mapped_column(String(256))
    cseq: Mapped[int] = mapped_column(Integer)
    source_transport: Mapped[str] = mapped_column(String(8))
    source_host: Mapped[str] = mapped_column(String(64))
    source_port: Mapped[int] = mapped_column(Integer)
    user_agent: Mapped[str | None] = mapped_column(String(256), nullable=True)


class CallRecord(Base):
    """A call detail record (S2)."""

    __tablename__ = "cdrs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(256), index=True)
    caller: Mapped[str] = mapped_column(String(256))
    callee: Mapped[str] = mapped_column(String(256))
    source: Mapped[str] = mapped_column(String(64))  # "user:alice" or "trunk:provider"
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    disposition: Mapped[str] = mapped_column(String(32))  # answered, busy, no_answer, ...
    ended_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Per media leg (JSON): packets and bytes each way, packets lost and
    # interarrival jitter (RFC 3550 A.3, A.8) as Jono received them.
    media: Mapped[str | None] = mapped_column(Text, nullable=True)


class QueueEventRow(Base):
    """One step of the queue event log (S2): caller steps and agent state changes."""

    __tablename__ = "queue_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # entered, answered, ..., agent_state
    queue_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    call_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    wait: Mapped[float | None] = mapped_column(Float, nullable=True)
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    Base.metadata.create_all(engine)
    _add_new_columns(engine)
    return engine


def _add_new_columns(engine: Engine) -> None:
    """A store made by an older Jono lacks columns added since (all nullable):
    add them, so upgrading keeps the records."""
    tables = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in tables.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have and column.nullable:
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


class BackgroundWriter:
    """One thread that writes queued rows and units of work, in batches.

    Call records arrive as plain dicts and are inserted with one Core
    ``executemany`` per batch: the thread holds the GIL for microseconds
    per row, so it never starves the event loop (ORM flushes per row did,
    and made SIP retransmissions at a few hundred calls/s).
    """

    def __init__(self, sessions: sessionmaker[Session], interval: float = 0.25) -> None:
        self.sessions = sessions
        self.interval = interval
        self.queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="jono-store", daemon=True)
        self.thread.start()

    def submit(self, work: Callable[[Session], None]) -> None:
        self.queue.put(("work", work))

    def insert(self, table: str, row: dict[str, Any]) -> None:
        self.queue.put(("insert", (table, row)))

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is written."""
        done = threading.Event()
        self.queue.put(("flush", done))
        done.wait(timeout)

    def _run(self) -> None:
        running = True
        while running:
            first = self.queue.get()
            items = [first]
            if first is not None:
                self._stop.wait(self.interval)
            while True:
                try:
                    items.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            if None in items:
                running = False
            self._write([i for i in items if i is not None])

    def _write(self, items: list[tuple[str, Any]]) -> None:
        if not items:
            return
        inserts: dict[str, list[dict[str, Any]]] = {}
        works: list[Callable[[Session], None]] = []
        flushed: list[threading.Event] = []
        for kind, payload in items:
            if kind == "insert":
                inserts.setdefault(payload[0], []).append(payload[1])
            elif kind == "flush":
                flushed.append(payload)
            else:
                works.append(payload)
        try:
            with self.sessions.begin() as session:
                for table, rows in inserts.items():
                    session.execute(insert(Base.metadata.tables[table]), rows)
                for work in works:
                    work(session)
        except Exception:
            log.exception("store write failed")
        for done in flushed:  # after the commit: readers see the rows
            done.set()

    def close(self) -> None:
        self._stop.set()
        self.queue.put(None)
        self.thread.join(timeout=10)


_CDR_OPTIONAL: dict[str, Any] = {
    c.name: None for c in CallRecord.__table__.columns if c.nullable and c.name != "id"
}


class Store:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.writer = BackgroundWriter(self.sessions)

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

    def cdrs(self) -> list[CallRecord]:
        with self.sessions() as session:
            return list(session.scalars(select(CallRecord).order_by(CallRecord.id)))


class SqlBindingStore:
    """Registrar bindings kept in the store so they survive a restart.

    Times are wall-clock seconds, as the location service keeps them.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, binding: Binding) -> None:
        source = binding.source if isinstance(binding.source, Target) else Target("udp", "", 0)
        row = dict(
            aor=binding.aor, contact=binding.contact,
            expires_at_wall=binding.expires_at, q=binding.q,
            call_id=binding.call_id, cseq=binding.cseq,
            source_transport=source.transport, source_host=source.host, source_port=source.port,
            user_agent=binding.user_agent,
        )

        def work(session: Session) -> None:
            session.merge(BindingRow(**row))

        self.store.writer.submit(work)

    def delete(self, aor: str, contact: str) -> None:
        def work(session: Session) -> None:
            session.execute(
                delete(BindingRow).where(BindingRow.aor == aor, BindingRow.contact == contact)
            )

        self.store.writer.submit(work)

    def load_all(self) -> Iterable[Binding]:
        with self.store.sessions() as session:
            rows = list(session.scalars(select(BindingRow)))
        for row in rows:
            yield Binding(
                aor=row.aor, contact=row.contact, expires_at=row.expires_at_wall,
                q=row.q, call_id=row.call_id, cseq=row.cseq,
                source=Target(row.source_transport, row.source_host, row.source_port),
                transport=row.source_transport, user_agent=row.user_agent,
                received_at=row.expires_at_wall,
            )


def utcnow() -> datetime:
    return datetime.now(UTC)
