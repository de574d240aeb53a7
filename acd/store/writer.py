"""The store's writer thread: rows and units of work written in batches.

Writes that are not needed to answer the current message (call records,
queue events, binding refreshes) go through :class:`BackgroundWriter`, a
single thread that owns its own sessions, so the event loop never waits for
the disk.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from acd.store.tables import Base

log = structlog.stdlib.get_logger("jono.store")


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
        self.written = 0  # rows and units of work written so far (metrics)
        self.failed_batches = 0
        self.last_batch_s = 0.0
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
        started = time.monotonic()
        try:
            with self.sessions.begin() as session:
                for table, rows in inserts.items():
                    session.execute(insert(Base.metadata.tables[table]), rows)
                for work in works:
                    work(session)
        except Exception:
            self.failed_batches += 1
            log.exception("store write failed")
        self.last_batch_s = time.monotonic() - started
        self.written += len(items)
        for done in flushed:  # after the commit: readers see the rows
            done.set()

    def close(self) -> None:
        self._stop.set()
        self.queue.put(None)
        self.thread.join(timeout=10)
